"""The SpiffWorkflow adapter.

The runtime (start, advance, dump and load state), restricted and bounded
scripting, timekeeping and business days, moving cases between versions.
"""
