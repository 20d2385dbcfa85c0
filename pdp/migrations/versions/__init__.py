"""pdp's schema migrations, one file a revision, in order: `NNNN_<what it does>.py`."""
