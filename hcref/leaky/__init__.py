"""Jacot & Kaiser, "Hamiltonian Mechanics of Feature Learning: Bottleneck Structure in Leaky ResNets"
(arXiv 2405.17573): leaky ResNets, their Hamiltonian backward pass, the cost of identity and bottleneck
structure, adaptive layer steps, teacher data and the Figure 1/2 sweep tasks."""
