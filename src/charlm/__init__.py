"""charlm: character-level language models on classic novels, as a DVC pipeline."""
