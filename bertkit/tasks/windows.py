"""Windowing shared by training, evaluation and inference: long inputs are split, never silently truncated.

Every example is tokenized ONCE, without special tokens and without truncation (:func:`tokenize_texts`); windows
are then cut from that token sequence and the model's own special tokens are put around each window (the layout
is read from the tokenizer by :func:`special_template`, so BERT, RoBERTa or XLNet layouts all work). The tokenizer
is never asked to truncate or stride, so a bad stride is our clear error, not a tokenizer panic.

Token classification (:func:`token_windows`): windows of at most ``max_length`` tokens overlapping by at least
``stride`` tokens; a window starts at a word start where it can. Each example token is *owned* by exactly one
window, the one where it has the most context (farthest from an edge of the window that is not an edge of the
text): keep predictions only where ``TokenWindow.owned`` is True and every token is predicted exactly once.

Question answering (:func:`qa_features`): question + context windows with ``doc_stride`` tokens of context
overlap (the SQuAD "doc stride"). ``QAFeature.offsets`` hold character offsets into the context for context tokens
and None elsewhere; ``context_range`` is the window positions of the context tokens; ``cls_index`` the position
whose start/end logits mean "no answer". :mod:`bertkit.tasks.spans` searches answers from these.

Model inputs are plain dicts (``feature.model_inputs()``: ``input_ids`` and ``token_type_ids``) for the
inference engine or a training collator; offsets, word ids and ownership stay beside them on the feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bertkit.errors import InputError

Offset = tuple[int, int]
IGNORE_INDEX = -100  # the label id PyTorch's cross-entropy skips
DEFAULT_DOC_STRIDE = 128  # the SQuAD reference scripts' doc stride


@dataclass
class TokenizedText:
    """One example tokenized once: no special tokens, no truncation.

    ``offsets[i]`` are character offsets of token ``i`` into ``text``. ``word_ids[i]`` is the word the token
    belongs to: a pre-tokenizer word for raw text, the index into the given words for pre-split input (then
    ``text`` is the words joined by single spaces). None where the tokenizer gives no word.
    """

    text: str
    input_ids: list[int]
    offsets: list[Offset]
    word_ids: list[int | None]

    def __len__(self) -> int:
        return len(self.input_ids)

    def word_starts(self) -> list[bool]:
        """True for tokens that begin a word (the token a word is scored or labelled on)."""
        return [i == 0 or w is None or w != self.word_ids[i - 1] for i, w in enumerate(self.word_ids)]


@dataclass(frozen=True)
class SpecialTemplate:
    """Where a tokenizer puts its special tokens around one sequence (``prefix + A + middle + B + suffix``)."""

    prefix: tuple[int, ...]
    prefix_types: tuple[int, ...]
    middle: tuple[int, ...]
    middle_types: tuple[int, ...]
    suffix: tuple[int, ...]
    suffix_types: tuple[int, ...]
    first_type: int
    second_type: int

    @property
    def size(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)


@dataclass
class TokenWindow:
    """One model input for token classification, cut from example ``example_index``'s tokens ``[start, end)``.

    Per window position: ``token_index`` (the example token, None for special tokens), ``word_ids`` and
    ``offsets`` (characters into the example text, None for special tokens), ``word_start`` (the token begins
    its word in the example: the subword a word is scored and labelled on) and ``owned`` (keep this position's
    prediction: True in exactly one window for every example token).
    """

    example_index: int
    start: int
    end: int
    input_ids: list[int]
    token_type_ids: list[int]
    token_index: list[int | None]
    word_ids: list[int | None]
    offsets: list[Offset | None]
    word_start: list[bool]
    owned: list[bool]

    def model_inputs(self) -> dict[str, list[int]]:
        return {"input_ids": self.input_ids, "token_type_ids": self.token_type_ids}


@dataclass
class QAFeature:
    """One question + context window for extractive QA.

    ``offsets[i]`` is the character span of window token ``i`` in the context, None for question and special
    tokens. ``context_range`` = window positions ``[a, b)`` of the context tokens, which are the example's context
    tokens ``[context_start, context_start + b - a)``. ``cls_index`` is the position scored as "no answer".
    """

    example_index: int
    input_ids: list[int]
    token_type_ids: list[int]
    offsets: list[Offset | None]
    context_range: tuple[int, int]
    context_start: int
    cls_index: int

    def model_inputs(self) -> dict[str, list[int]]:
        return {"input_ids": self.input_ids, "token_type_ids": self.token_type_ids}


def tokenize_texts(
    tokenizer: Any, texts: Sequence[str] | Sequence[Sequence[str]], *, is_split_into_words: bool = False
):
    """Tokenize every text (or list of words with ``is_split_into_words``) once; a fast tokenizer is required."""
    if not getattr(tokenizer, "is_fast", False):
        raise InputError("windowing needs a fast tokenizer (character offsets); this tokenizer is a slow one")
    if not texts:
        return []
    batch = [list(t) for t in texts] if is_split_into_words else list(texts)
    enc = tokenizer(
        batch,
        add_special_tokens=False,
        return_offsets_mapping=True,
        is_split_into_words=is_split_into_words,
        verbose=False,  # no "longer than the maximum" warning: windows handle length
    )
    result = []
    for i, item in enumerate(batch):
        word_ids = list(enc.word_ids(i))
        offsets = [tuple(o) for o in enc["offset_mapping"][i]]
        text = item
        if is_split_into_words:
            text, offsets = words_to_text_offsets(item, word_ids, offsets)
        result.append(TokenizedText(text, list(enc["input_ids"][i]), offsets, word_ids))
    return result


def words_to_text_offsets(words: Sequence[str], word_ids: Sequence[int | None], offsets: Sequence[Offset]):
    """Join pre-split words with spaces and move per-word token offsets into the joined text."""
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    moved = [
        (a + starts[w], b + starts[w]) if w is not None else (a, b) for (a, b), w in zip(offsets, word_ids, strict=True)
    ]
    return " ".join(words), moved


def special_template(tokenizer: Any, *, pair: bool = False) -> SpecialTemplate:
    """Read the tokenizer's special-token layout from a probe encoding ("a" or the pair "a", "b")."""
    enc = tokenizer("a", "b") if pair else tokenizer("a")
    ids, seq = list(enc["input_ids"]), list(enc.sequence_ids())
    types = list(enc.get("token_type_ids") or [0] * len(ids))
    first = [i for i, s in enumerate(seq) if s == 0]
    second = [i for i, s in enumerate(seq) if s == 1] if pair else []
    if not first or (pair and not second):
        raise InputError("cannot find where this tokenizer puts its special tokens (probe encoding has no text)")
    cut_a, cut_b = first[0], first[-1] + 1
    cut_c, cut_d = (second[0], second[-1] + 1) if pair else (cut_b, cut_b)
    return SpecialTemplate(
        prefix=tuple(ids[:cut_a]),
        prefix_types=tuple(types[:cut_a]),
        middle=tuple(ids[cut_b:cut_c]),
        middle_types=tuple(types[cut_b:cut_c]),
        suffix=tuple(ids[cut_d:]),
        suffix_types=tuple(types[cut_d:]),
        first_type=types[first[0]],
        second_type=types[second[0]] if pair else types[first[0]],
    )


def check_window_room(
    max_length: int, stride: int, used: int, *, option: str = "--stride", where: str = "", question_tokens: int = 0
) -> int:
    """Tokens left for text in a window of ``max_length`` after ``used`` tokens (special tokens + question).

    The overlap ``stride`` must be smaller than that room, or windows could not move forward.
    """
    room = max_length - used
    what = "context" if question_tokens else "text"
    taken = f"{question_tokens} question + {used - question_tokens}" if question_tokens else f"{used}"
    if stride < 0:
        raise InputError(f"{option} must be 0 or more, got {stride}")
    if room < 1:
        raise InputError(
            f"{where}--max-length {max_length} leaves no room for {what}: {taken} special tokens fill the window",
            hint="Raise --max-length (up to the model's maximum)"
            + (" or shorten the question." if question_tokens else "."),
        )
    if stride >= room:
        raise InputError(
            f"{where}{option} {stride} is too large: a window of --max-length {max_length} has room for {room} "
            f"{what} tokens ({taken} special tokens are taken), and the overlap must be smaller than that",
            hint=f"Use {option} {room // 2} or less, or raise --max-length.",
        )
    return room


def resolve_max_length(requested: int | None, model_max: int, *, default: int | None = None) -> int:
    """The window length to use: ``requested`` (checked against the model's limit) or ``default`` (capped)."""
    if requested is None:
        return min(default, model_max) if default else model_max
    if requested > model_max:
        raise InputError(
            f"--max-length {requested} is more than the model takes ({model_max} tokens)",
            hint=f"Use --max-length {model_max} or less; longer texts are split into overlapping windows anyway.",
        )
    if requested < 1:
        raise InputError(f"--max-length must be at least 1, got {requested}")
    return requested


def plan_windows(word_ids: Sequence[int | None], room: int, stride: int, *, snap_to_words: bool = True):
    """``(start, end)`` token ranges of at most ``room`` tokens covering all tokens, overlapping by >= ``stride``.

    With ``snap_to_words`` a window starts at a word start (moving back, so the overlap only grows), so a word's
    first subword has its word's context. The last window ends at the last token and is full length.
    """
    n = len(word_ids)
    if n <= room:
        return [(0, n)]

    def word_start(t: int) -> int:
        while snap_to_words and 0 < t < n and word_ids[t] is not None and word_ids[t] == word_ids[t - 1]:
            t -= 1
        return t

    spans, start = [], 0
    while start + room < n:
        end = start + room
        spans.append((start, end))
        start = max(word_start(end - stride), start + 1)
    last = max(0, n - room)
    while snap_to_words and last < start and word_start(last) != last:
        last += 1  # a full-length last window, begun at a word start
    spans.append((min(start, last), n))
    return spans


def assign_owners(spans: Sequence[tuple[int, int]], n: int) -> list[int]:
    """For every token, the window where it has the most context; ties go to the earlier window.

    Context is the distance to the nearer window edge; an edge that is also an edge of the text costs nothing.
    """
    far = n + 1
    owner, best = [0] * n, [-1] * n
    for k, (start, end) in enumerate(spans):
        for t in range(start, end):
            left = t - start if start > 0 else far
            right = end - 1 - t if end < n else far
            if min(left, right) > best[t]:
                best[t], owner[t] = min(left, right), k
    return owner


def token_windows(
    texts: Sequence[TokenizedText],
    tokenizer: Any,
    *,
    max_length: int,
    stride: int,
    snap_to_words: bool = True,
) -> list[TokenWindow]:
    """Windows for token classification of every example, in example order (an example's windows in text order).

    Every example gets at least one window (an empty text gets one with only special tokens).
    """
    template = special_template(tokenizer)
    room = check_window_room(max_length, stride, template.size)
    windows: list[TokenWindow] = []
    for index, tokenized in enumerate(texts):
        spans = plan_windows(tokenized.word_ids, room, stride, snap_to_words=snap_to_words)
        owners = assign_owners(spans, len(tokenized))
        starts = tokenized.word_starts()
        for k, (start, end) in enumerate(spans):
            window = build_token_window(tokenized, template, index, start, end)
            window.word_start = [False] * len(template.prefix) + starts[start:end] + [False] * len(template.suffix)
            window.owned = [t is not None and owners[t] == k for t in window.token_index]
            windows.append(window)
    return windows


def build_token_window(tokenized: TokenizedText, template: SpecialTemplate, index: int, start: int, end: int):
    pre, post = len(template.prefix), len(template.suffix)
    tokens = list(range(start, end))
    return TokenWindow(
        example_index=index,
        start=start,
        end=end,
        input_ids=[*template.prefix, *tokenized.input_ids[start:end], *template.suffix],
        token_type_ids=[*template.prefix_types, *[template.first_type] * len(tokens), *template.suffix_types],
        token_index=[None] * pre + tokens + [None] * post,
        word_ids=[None] * pre + tokenized.word_ids[start:end] + [None] * post,
        offsets=[None] * pre + tokenized.offsets[start:end] + [None] * post,
        word_start=[],
        owned=[],
    )


def qa_features(
    tokenizer: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    max_length: int,
    doc_stride: int | None = None,
    snap_to_words: bool = True,
) -> list[QAFeature]:
    """Question + context windows for every example (an example's windows in context order).

    The question is never truncated: if it leaves no room for ``doc_stride`` + 1 context tokens, this raises
    ``InputError`` naming the example. ``doc_stride=None`` uses min(128, half the room left for the context).
    The context goes second unless the tokenizer pads on the left (XLNet).
    """
    if len(questions) != len(contexts):
        raise ValueError("questions and contexts must have the same length")
    template = special_template(tokenizer, pair=True)
    context_first = getattr(tokenizer, "padding_side", "right") == "left"
    asked = tokenize_texts(tokenizer, [q.lstrip() for q in questions])
    docs = tokenize_texts(tokenizer, contexts)
    features: list[QAFeature] = []
    cls_id = getattr(tokenizer, "cls_token_id", None)
    for index, (question, doc) in enumerate(zip(asked, docs, strict=True)):
        where = f"input {index + 1}: " if len(questions) > 1 else ""
        used = template.size + len(question)
        stride = max(0, min(DEFAULT_DOC_STRIDE, (max_length - used) // 2)) if doc_stride is None else doc_stride
        room = check_window_room(
            max_length, stride, used, option="--doc-stride", where=where, question_tokens=len(question)
        )
        for start, end in plan_windows(doc.word_ids, room, stride, snap_to_words=snap_to_words):
            feature = build_qa_feature(template, question, doc, index, start, end, context_first)
            feature.cls_index = feature.input_ids.index(cls_id) if cls_id in feature.input_ids else 0
            features.append(feature)
    return features


def build_qa_feature(template, question, doc, index, start, end, context_first: bool) -> QAFeature:
    q_ids, c_ids = question.input_ids, doc.input_ids[start:end]
    first, second = (c_ids, q_ids) if context_first else (q_ids, c_ids)
    ids = [*template.prefix, *first, *template.middle, *second, *template.suffix]
    types = [
        *template.prefix_types,
        *[template.first_type] * len(first),
        *template.middle_types,
        *[template.second_type] * len(second),
        *template.suffix_types,
    ]
    ctx_at = len(template.prefix) + (0 if context_first else len(q_ids) + len(template.middle))
    offsets: list[Offset | None] = [None] * len(ids)
    offsets[ctx_at : ctx_at + len(c_ids)] = doc.offsets[start:end]
    return QAFeature(index, ids, types, offsets, (ctx_at, ctx_at + len(c_ids)), start, cls_index=0)


def answer_token_span(feature: QAFeature, start_char: int, end_char: int) -> tuple[int, int] | None:
    """Window positions ``(first, last)`` of the answer ``context[start_char:end_char]``, or None when the answer
    is not wholly inside this window (training then points both at ``feature.cls_index``)."""
    lo, hi = feature.context_range
    if hi <= lo:
        return None
    first_off, last_off = feature.offsets[lo], feature.offsets[hi - 1]
    if start_char < first_off[0] or end_char > last_off[1]:
        return None
    first = next(i for i in range(lo, hi) if feature.offsets[i][1] > start_char)
    last = next(i for i in range(hi - 1, lo - 1, -1) if feature.offsets[i][0] < end_char)
    return (first, last) if first <= last else None


def align_word_labels(
    window: TokenWindow,
    word_labels: Sequence[int],
    *,
    label_all_subwords: bool = False,
    owned_only: bool = False,
) -> list[int]:
    """Per-position label ids for a window: the word's label on its first subword, ``IGNORE_INDEX`` elsewhere.

    ``label_all_subwords`` labels every subword; ``owned_only`` ignores positions another window owns (so that
    evaluation scores each token once). Special tokens and tokens without a word are always ignored.
    """
    labels = []
    for pos, (token, word) in enumerate(zip(window.token_index, window.word_ids, strict=True)):
        keep = token is not None and word is not None and (label_all_subwords or window.word_start[pos])
        if owned_only and not window.owned[pos]:
            keep = False
        labels.append(int(word_labels[word]) if keep else IGNORE_INDEX)
    return labels
