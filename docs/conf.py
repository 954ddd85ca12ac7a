"""Sphinx configuration of the hybriddiff API reference (``sphinx-build -W docs <out>``)."""

from __future__ import annotations

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

from autodiff._version import __version__  # noqa: E402

project = "hybriddiff"
author = "the hybriddiff authors"
copyright = "the hybriddiff authors"  # noqa: A001 - Sphinx's name
version = release = __version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
# NumPy-style sections (Parameters, Returns, Examples) as the docstrings are written
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = True
napoleon_type_aliases = {"dtype": "numpy.dtype"}  # not Tensor.dtype or Node.dtype
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "show-inheritance": False}
# heavy optional back-ends are imported lazily by the packages; nothing to mock
nitpicky = False
default_role = "py:obj"
exclude_patterns = ["_build", "architecture.md"]
html_theme = "alabaster"
html_title = f"hybriddiff {release}"
html_static_path: list[str] = []
