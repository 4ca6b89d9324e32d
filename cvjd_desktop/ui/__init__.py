"""The Qt desktop front end. The only package that imports PySide6."""
