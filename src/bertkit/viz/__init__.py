"""Pictures of what a model does: its attention weights, its position encodings, how alike it finds some
words, and how likely it finds each token of a text. Each picture is a data function (numbers you can use yourself), a drawing function, and a
`*_picture` function that does both for a model directory; each returns the path it wrote.

Needs matplotlib (`pip install 'bertkit[plot]'`); Chinese labels need a CJK font (see `viz.fonts`).
"""

from bertkit.viz.attention import attention_picture, attention_weights, draw_attention
from bertkit.viz.embeddings import WordVectors, draw_embeddings, embeddings_picture, word_vectors
from bertkit.viz.encoder import load_encoder
from bertkit.viz.gallery import demo_pictures
from bertkit.viz.positions import draw_positions, position_encodings, positions_picture
from bertkit.viz.probabilities import draw_probabilities, probabilities_picture
from bertkit.viz.vectors import cosine_matrix, pca_2d

__all__ = [
    "WordVectors",
    "attention_picture",
    "attention_weights",
    "cosine_matrix",
    "demo_pictures",
    "draw_attention",
    "draw_embeddings",
    "draw_positions",
    "draw_probabilities",
    "embeddings_picture",
    "load_encoder",
    "pca_2d",
    "position_encodings",
    "positions_picture",
    "probabilities_picture",
    "word_vectors",
]
