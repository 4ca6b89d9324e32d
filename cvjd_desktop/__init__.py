"""cvjd-desktop: CVs and job descriptions to structured data, with an honest token ledger."""

__version__ = "0.1.0"
