"""Train a WordPiece vocabulary on a corpus (pre-training from scratch) with the ``tokenizers`` library.

The pipeline is BERT's own (the same normalizer, pre-tokenizer and decoder as ``BertWordPieceTokenizer``), and the
result is a transformers fast BERT tokenizer, so ``save_pretrained`` writes a folder that
``AutoTokenizer.from_pretrained`` loads as a BERT tokenizer (and ``bertkit fill-mask`` uses).

Training is not bit-reproducible: ``tokenizers`` numbers the ``##`` continuation pieces in hash-map order, which
changes how ties between equally frequent merges are broken, so two runs on the same corpus can differ in a few
rare pieces. A run therefore trains its tokenizer once and keeps it (``bertkit.modeling.scratch``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bertkit.errors import DataError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # ids 0..4, in this order
LIMIT_ALPHABET = 1000  # characters kept in the initial alphabet (rare scripts beyond this become [UNK])
BATCH = 1000


@dataclass(frozen=True)
class WordPieceSettings:
    vocab_size: int = 8000
    min_frequency: int = 2
    lowercase: bool = True
    max_length: int = 512  # the tokenizer's model_max_length (the model's longest input)

    @classmethod
    def from_spec(cls, spec: Any, max_length: int) -> WordPieceSettings:
        """From a recipe's ``task.tokenizer`` section (:class:`bertkit.recipes.schema.TokenizerTraining`)."""
        return cls(int(spec.vocab_size), int(spec.min_frequency), bool(spec.lowercase), int(max_length))


def bert_pipeline(settings: WordPieceSettings) -> Any:
    """An untrained ``tokenizers.Tokenizer`` with BERT's normalizer, pre-tokenizer and decoder."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece

    tokenizer = Tokenizer(WordPiece(unk_token="[UNK]"))
    # strip_accents=None follows lowercase, as in BERT (uncased models strip accents, cased ones keep them).
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=settings.lowercase
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def batches(texts: Iterable[Any]) -> Iterator[list[str]]:
    batch: list[str] = []
    for text in texts:
        if isinstance(text, str) and text.strip():
            batch.append(text)
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def train_wordpiece(texts: Iterable[Any], settings: WordPieceSettings, *, source: str = "the corpus") -> Any:
    """A transformers fast BERT tokenizer whose WordPiece vocabulary is learnt from ``texts``."""
    from tokenizers import trainers
    from transformers import BertTokenizerFast

    pipeline = bert_pipeline(settings)
    trainer = trainers.WordPieceTrainer(
        vocab_size=settings.vocab_size,
        min_frequency=settings.min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        limit_alphabet=LIMIT_ALPHABET,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    seen = 0

    def counted() -> Iterator[list[str]]:
        nonlocal seen
        for batch in batches(texts):
            seen += len(batch)
            yield batch

    pipeline.train_from_iterator(counted(), trainer=trainer)
    vocab = pipeline.get_vocab()
    if seen == 0 or len(vocab) <= len(SPECIAL_TOKENS):
        raise DataError(
            f"cannot train a tokenizer: {source} has no text",
            hint="Give a corpus with text (one text per line), or set task.tokenizer.train: false to use the "
            "tokenizer of model.name.",
        )
    # The same pipeline as ``pipeline`` (BertTokenizerFast builds BERT's normalizer/pre-tokenizer/decoder and adds
    # the [CLS] A [SEP] B [SEP] post-processor), so the saved folder is an ordinary fast BERT tokenizer.
    return BertTokenizerFast(
        vocab=dict(sorted(vocab.items(), key=lambda item: item[1])),
        do_lower_case=settings.lowercase,
        strip_accents=None,
        tokenize_chinese_chars=True,
        model_max_length=settings.max_length,
    )


def train_tokenizer_on(dataset: Any, settings: WordPieceSettings, *, source: str = "the corpus") -> Any:
    """Train on the ``text`` column of a ``datasets.Dataset`` (read in batches, not all at once)."""
    if "text" not in dataset.column_names:
        raise DataError(f"{source} has no 'text' column to train a tokenizer on", hint="Map it with data.columns.")

    def texts() -> Iterator[Any]:
        for start in range(0, len(dataset), BATCH):
            yield from dataset[start : start + BATCH]["text"]

    return train_wordpiece(texts(), settings, source=source)


def describe_vocabulary(tokenizer: Any, settings: WordPieceSettings) -> str:
    size = len(tokenizer)
    note = f"trained a WordPiece tokenizer: {size} tokens ({'uncased' if settings.lowercase else 'cased'})"
    if size < settings.vocab_size:
        note += f", fewer than task.tokenizer.vocab_size={settings.vocab_size} (the corpus has no more pieces)"
    return note
