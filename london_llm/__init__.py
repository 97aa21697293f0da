"""London Historical LLM: the library behind the numbered stage scripts.

One module per concern; nothing here reads config.py or depends on the current directory.
"""
__version__ = "0.1.0"
