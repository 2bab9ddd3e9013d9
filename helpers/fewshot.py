"""Few-shot prompts with retrieved examples: the k training examples most
similar to each text, by TF-IDF over character n-grams (works for Chinese,
which has no spaces, and for English alike).

The examples go into the prompt one per line (``prompts.example_line``: the
text as a JSON string, then its label), so a training text with newlines or
``=>`` in it cannot run into the next example; the training labels are checked
with ``prompts.label_problems`` when the retriever is built.
"""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from . import prompts


class ExampleRetriever:
    """Finds the ``k`` most similar (text, label) training pairs for new texts."""

    def __init__(self, texts, labels, k: int = 4, ngram_range=(1, 3),
                 skip_identical: bool = True):
        self.texts = list(texts)
        self.labels = list(labels)
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        if not self.texts:
            raise ValueError("no training examples to retrieve from")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        problems = prompts.label_problems(list(dict.fromkeys(self.labels)))
        if problems:
            raise ValueError("training labels cannot be listed in a prompt: " + "; ".join(problems))
        self.k = k
        # An identical training text would hand the model the answer (leakage).
        self.skip_identical = skip_identical
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range,
                                          sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(self.texts)

    def indices_for(self, texts) -> list[list[int]]:
        """Training indices per text, most similar first."""
        texts = list(texts)
        if not texts:
            return []
        sims = (self.vectorizer.transform(texts) @ self.matrix.T).toarray()  # rows are L2-normed
        out = []
        for text, row in zip(texts, sims, strict=True):
            order = np.argsort(-row, kind="stable")
            picked = [int(j) for j in order
                      if not (self.skip_identical and self.texts[j] == text)][: self.k]
            out.append(picked)
        return out

    def examples_for(self, texts) -> list[list[tuple[str, str]]]:
        """(text, label) pairs per text, most similar first."""
        return [[(self.texts[j], self.labels[j]) for j in row] for row in self.indices_for(texts)]


def fewshot_messages(text: str, labels, retriever: ExampleRetriever, lang: str = "zh",
                     system: bool = False, answer: str = "text") -> list[dict]:
    """Chat messages for one text with its retrieved examples in the prompt."""
    examples = retriever.examples_for([text])[0]
    return prompts.messages(text, labels, lang, examples=examples, system=system, answer=answer)
