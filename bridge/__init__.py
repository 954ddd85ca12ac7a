"""bridge — compile symbolic derivatives to numba CPU, parallel and CUDA kernels."""
