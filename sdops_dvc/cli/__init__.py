"""The click layer: parse arguments, call the core, render results. No logic here."""
