"""Descent's helpers, run by the VS Code extension in the user's own Python interpreter.

Keep this module light: the extension imports submodules (the environment probe first) in interpreters that may
lack PyTorch or have a broken install, so nothing heavy is imported here.
"""

__version__ = "0.1.0"
