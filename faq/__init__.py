"""Cloud-FAQ question answering on simtune: Quaterion's FAQ tutorial (frozen MiniLM + head, or LoRA).

``python -m faq.train`` trains and saves a servable; ``python -m faq.serve`` answers questions
from it through Qdrant. See ``faq.data`` for the dataset and split, ``faq.model`` for the models.
"""
