"""A trained model in use: loading a run, embedding images, faiss indexes, search and export."""
