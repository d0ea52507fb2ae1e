"""Document 004: Forward-Forward layers and network, Hoyer sparsity, the sparsity theorems.

Modules: ``layer`` (the document's single ReLU layer, goodness, losses, local gradient, SGD),
``hoyer`` (Hoyer sparsity with defined edge cases), ``theorems`` (Theorems 1 and 2 per sample),
``network`` (Hinton's full FF network), ``backprop`` (a backprop network of the same shape),
``experiments`` (the document's figures and the FF-vs-backprop comparison), ``reference_cases``.
Source: Yukun Yang, "A theory for the sparsity emerged in the Forward Forward algorithm" (2023), and
G. Hinton, "The Forward-Forward Algorithm: Some Preliminary Investigations", arXiv:2212.13345.
"""
