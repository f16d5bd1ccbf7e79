"""Demonstrations (the dataset format, collection, validation) and scripted experts."""
