"""WordPiece training: BERT's special tokens, a vocabulary that round-trips the corpus, and a folder that
transformers loads as a fast BERT tokenizer."""

import random

import pytest

from bertkit.errors import DataError
from bertkit.tasks.tokenizer_training import SPECIAL_TOKENS, WordPieceSettings, train_tokenizer_on, train_wordpiece
from tests.tiny import WORDS

SUFFIXES = ["", "", "", "s", "ing", "ed", "ly"]


def write_corpus(path, lines=400, seed=0):
    rng = random.Random(seed)
    text = []
    for _ in range(lines):
        words = [rng.choice(WORDS) + rng.choice(SUFFIXES) for _ in range(rng.randint(4, 14))]
        text.append(" ".join(words).capitalize() + rng.choice([".", "!", "?", ", Café."]))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.txt")


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    from transformers import AutoTokenizer

    settings = WordPieceSettings(vocab_size=600, min_frequency=2, lowercase=True, max_length=256)
    tokenizer = train_wordpiece(corpus, settings)
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save_pretrained(folder)
    return tokenizer, AutoTokenizer.from_pretrained(folder)


def test_special_tokens_come_first_with_bert_roles(trained):
    tokenizer, loaded = trained
    for tok in (tokenizer, loaded):
        assert tok.convert_ids_to_tokens(list(range(5))) == list(SPECIAL_TOKENS)
        assert (tok.pad_token, tok.unk_token, tok.cls_token, tok.sep_token, tok.mask_token) == SPECIAL_TOKENS
        assert (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == (0, 2, 3, 4)


def test_saved_folder_loads_as_a_fast_bert_tokenizer_with_the_same_ids(trained, corpus):
    tokenizer, loaded = trained
    assert loaded.is_fast and type(loaded).__name__ in ("BertTokenizer", "BertTokenizerFast")
    assert loaded.model_max_length == 256
    assert loaded.get_vocab() == tokenizer.get_vocab()
    for line in corpus[:50]:
        assert loaded(line)["input_ids"] == tokenizer(line)["input_ids"]
    pair = loaded("good movie", "bad film")
    assert pair["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]


def test_vocabulary_size_word_pieces_and_round_trip(trained, corpus):
    tokenizer, _ = trained
    vocab = tokenizer.get_vocab()
    assert 300 < len(vocab) <= 600
    assert any(token.startswith("##") for token in vocab)
    unk = tokenizer.unk_token_id
    for line in corpus:
        ids = tokenizer(line, add_special_tokens=False)["input_ids"]
        assert unk not in ids, line
        decoded = tokenizer.decode(ids)
        # Uncased: lowercased and accents stripped; the decoder re-joins pieces and punctuation.
        assert decoded.replace(" ", "") == line.lower().replace("é", "e").replace(" ", ""), (line, decoded)
    words = tokenizer.decode(tokenizer("washington loved the music", add_special_tokens=False)["input_ids"])
    assert words == "washington loved the music"


def test_rare_words_are_split_into_known_pieces(trained):
    tokenizer, _ = trained
    pieces = tokenizer.tokenize("washingtoning")
    assert len(pieces) > 1 and all(p.startswith("##") for p in pieces[1:])
    assert tokenizer.unk_token not in pieces


def test_cased_training_keeps_case_and_accents(corpus):
    tokenizer = train_wordpiece(corpus, WordPieceSettings(vocab_size=700, min_frequency=1, lowercase=False))
    text = "Café Paris"
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_training_from_a_dataset_column(corpus):
    import datasets

    dataset = datasets.Dataset.from_dict({"text": [*corpus, None, ""]})
    tokenizer = train_tokenizer_on(dataset, WordPieceSettings(vocab_size=400, min_frequency=2))
    assert 300 < len(tokenizer) <= 400


def test_no_text_is_a_clear_error():
    import datasets

    with pytest.raises(DataError, match=r"corpus\.txt has no text"):
        train_wordpiece(["", "   "], WordPieceSettings(vocab_size=200), source="corpus.txt")
    with pytest.raises(DataError, match="no 'text' column"):
        train_tokenizer_on(datasets.Dataset.from_dict({"body": ["a"]}), WordPieceSettings(vocab_size=200))
