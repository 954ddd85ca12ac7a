"""symdiff — lift autodiff computations into SymPy for exact derivatives of any order."""
