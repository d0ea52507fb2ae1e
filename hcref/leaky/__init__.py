"""Document 003 (Jacot & Kaiser, arXiv 2405.17573): leaky ResNets, their Hamiltonian backward pass,
the cost of identity and bottleneck structure, and adaptive layer steps."""
