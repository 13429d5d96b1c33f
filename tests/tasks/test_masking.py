"""MLM masking: the 80/10/10 replacement shares and the 15% selection rate checked statistically on large
samples, special tokens and padding never touched, whole-word masking, and per-row reproducibility."""

import math

import pytest

from bertkit.tasks.masking import IGNORE_INDEX, NO_WORD, MaskingSpec, TokenMasker, row_seed

VOCAB, MASK_ID, SPECIAL = 1000, 4, (0, 1, 2, 3, 4)  # [PAD] [UNK] [CLS] [SEP] [MASK]
Z_LIMIT = 4.0  # |z| < 4: a correct implementation fails with probability ~6e-5 per check (fixed seeds: never)


def synthetic_masker(**spec):
    return TokenMasker(MaskingSpec(**spec), mask_token_id=MASK_ID, vocab_size=VOCAB, special_ids=SPECIAL)


def random_rows(count, length, seed=0):
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.randint(len(SPECIAL), VOCAB, (count, length), generator=generator)


def z_score(successes, trials, p):
    return (successes / trials - p) / math.sqrt(p * (1 - p) / trials)


def replacement_shares(masker, rows, seeds):
    import torch

    lengths = torch.full((rows.shape[0],), rows.shape[1], dtype=torch.long)
    masked, labels = masker.mask(rows, lengths, seeds)
    selected = labels != IGNORE_INDEX
    n_selected = int(selected.sum())
    to_mask = int((selected & (masked == MASK_ID)).sum())
    changed = int((selected & (masked != MASK_ID) & (masked != rows)).sum())
    unchanged = int((selected & (masked == rows)).sum())
    return masked, labels, n_selected, to_mask, changed, unchanged


def test_selection_rate_and_80_10_10_shares_on_75k_selected_tokens():
    rows = random_rows(500, 1000)
    seeds = [row_seed(7, 0, i) for i in range(500)]
    masked, labels, n_selected, to_mask, changed, unchanged = replacement_shares(synthetic_masker(), rows, seeds)
    candidates = rows.numel()
    assert n_selected >= 70_000
    assert abs(z_score(n_selected, candidates, 0.15)) < Z_LIMIT, n_selected / candidates
    pool = VOCAB - len(SPECIAL)  # a random replacement equals the original token with probability 1/pool
    assert abs(z_score(to_mask, n_selected, 0.8)) < Z_LIMIT, to_mask / n_selected
    assert abs(z_score(changed, n_selected, 0.1 * (1 - 1 / pool))) < Z_LIMIT, changed / n_selected
    assert abs(z_score(unchanged, n_selected, 0.1 + 0.1 / pool)) < Z_LIMIT, unchanged / n_selected
    # Labels: the original token where selected, -100 elsewhere; unselected tokens are untouched.
    selected = labels != IGNORE_INDEX
    assert (labels[selected] == rows[selected]).all()
    assert (masked[~selected] == rows[~selected]).all()


def test_random_replacements_are_ordinary_tokens_spread_over_the_vocabulary():
    import torch

    rows = random_rows(300, 1000, seed=1)
    seeds = [row_seed(3, 0, i) for i in range(300)]
    masked, labels, *_ = replacement_shares(synthetic_masker(), rows, seeds)
    replaced = (labels != IGNORE_INDEX) & (masked != MASK_ID) & (masked != rows)
    picks = masked[replaced]
    assert picks.numel() > 4000
    assert int(picks.min()) >= len(SPECIAL) and int(picks.max()) < VOCAB
    counts = torch.histc(picks.float(), bins=10, min=len(SPECIAL), max=VOCAB).double()
    expected = picks.numel() / 10
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 40, chi2  # 9 degrees of freedom: p < 1e-5 at 40


def test_the_shares_follow_the_recipe():
    rows = random_rows(200, 1000, seed=2)
    seeds = [row_seed(1, 0, i) for i in range(200)]
    masker = synthetic_masker(mlm_probability=0.3, mask_replace_prob=0.5, random_replace_prob=0.3)
    _, _, n_selected, to_mask, changed, unchanged = replacement_shares(masker, rows, seeds)
    assert abs(z_score(n_selected, rows.numel(), 0.3)) < Z_LIMIT
    assert abs(z_score(to_mask, n_selected, 0.5)) < Z_LIMIT
    assert abs(z_score(changed, n_selected, 0.3 * (1 - 1 / 995))) < Z_LIMIT
    assert abs(z_score(unchanged, n_selected, 0.2 + 0.3 / 995)) < Z_LIMIT
    nothing_replaced = synthetic_masker(mask_replace_prob=0.0, random_replace_prob=0.0)
    masked, _, n_selected, *_ = replacement_shares(nothing_replaced, rows, seeds)
    assert n_selected > 0 and (masked == rows).all()


def test_special_tokens_and_padding_are_never_selected_or_changed():
    import torch

    rows = random_rows(400, 60, seed=3)
    rows[:, 0] = 2  # [CLS]
    rows[:, 20] = 3  # [SEP] in the middle (a pair)
    rows[:, 30] = 1  # [UNK]
    rows[:, 31] = MASK_ID  # a [MASK] already in the text
    lengths = torch.randint(35, 61, (400,), generator=torch.Generator().manual_seed(0))
    lengths[0] = 35
    for row, length in enumerate(lengths.tolist()):
        rows[row, length - 1] = 3  # final [SEP]
        rows[row, length:] = 0  # padding
    seeds = [row_seed(0, 0, i) for i in range(400)]
    masked, labels = synthetic_masker(mlm_probability=0.5).mask(rows, lengths, seeds)
    special = torch.isin(rows, torch.tensor(SPECIAL))
    padding = torch.arange(60)[None, :] >= lengths[:, None]
    assert (labels[special | padding] == IGNORE_INDEX).all()
    assert (masked[special | padding] == rows[special | padding]).all()
    assert int((labels != IGNORE_INDEX).sum()) > 5000  # plenty of ordinary tokens were selected meanwhile


def test_every_row_with_ordinary_tokens_gets_a_selection_and_special_only_rows_none():
    rows = [[2, 17, 3]] * 2000 + [[2, 3], [2, 0, 3]]
    seeds = [row_seed(0, 0, i) for i in range(len(rows))]
    _, labels = synthetic_masker().mask_rows(rows, seeds)
    assert all(label[1] == 17 for label in labels[:2000])  # the only maskable token, always selected
    assert all(all(x == IGNORE_INDEX for x in label) for label in labels[2000:])


def test_a_rows_mask_depends_only_on_its_seed_not_on_the_batch():
    rows = random_rows(3, 50, seed=4).tolist()
    short = rows[1][:20]
    seeds = [row_seed(5, 2, i) for i in range(3)]
    masker = synthetic_masker(mlm_probability=0.4)
    alone = masker.mask_rows([short], [seeds[1]])
    in_batch = masker.mask_rows([rows[0], short, rows[2]], seeds)  # padded to 50 here
    assert alone[0][0] == in_batch[0][1] and alone[1][0] == in_batch[1][1]
    again = synthetic_masker(mlm_probability=0.4).mask_rows([rows[0], short, rows[2]], seeds)
    assert again == in_batch
    next_epoch = masker.mask_rows([short], [row_seed(5, 3, 1)])
    assert next_epoch[1] != alone[1]


def test_row_seeds_are_distinct_and_in_range():
    seeds = {row_seed(seed, epoch, example) for seed in (0, 1, 42) for epoch in (-1, 0, 1) for example in range(500)}
    assert len(seeds) == 3 * 3 * 500
    assert all(0 <= s < 2**63 for s in seeds)


def word_spans(tokens):
    """(start, end) of each word by the ## convention, over a token list without specials."""
    spans, start = [], 0
    for i in range(1, len(tokens) + 1):
        if i == len(tokens) or not tokens[i].startswith("##"):
            spans.append((start, i))
            start = i
    return spans


def test_whole_word_masking_selects_all_pieces_of_a_word_together(tokenizer):
    import random

    rng = random.Random(0)
    vocab_words = ["good", "movie", "the", "city", "washing", "unbelievable", "washington", "loved"]
    texts = [" ".join(rng.choice(vocab_words) for _ in range(30)) for _ in range(300)]
    rows = [tokenizer(t)["input_ids"] for t in texts]
    masker = TokenMasker.for_tokenizer(tokenizer, MaskingSpec(whole_word_masking=True))
    _, labels = masker.mask_rows(rows, [row_seed(0, 0, i) for i in range(len(rows))])
    words = selected_words = tokens = selected_tokens = multi_piece_selected = 0
    for ids, label in zip(rows, labels, strict=True):
        pieces = tokenizer.convert_ids_to_tokens(ids[1:-1])
        assert label[0] == label[-1] == IGNORE_INDEX
        for start, end in word_spans(pieces):
            flags = {label[1 + i] != IGNORE_INDEX for i in range(start, end)}
            assert len(flags) == 1, (pieces[start:end], label[1 + start : 1 + end])
            words += 1
            selected_words += flags.pop()
            multi_piece_selected += (end - start > 1) and label[1 + start] != IGNORE_INDEX
        tokens += len(pieces)
        selected_tokens += sum(x != IGNORE_INDEX for x in label)
    assert multi_piece_selected > 300
    assert abs(z_score(selected_words, words, 0.15)) < Z_LIMIT  # words are selected at the recipe's rate
    assert 0.12 < selected_tokens / tokens < 0.18


def test_whole_word_masking_follows_word_ids_when_given():
    rows = random_rows(400, 40, seed=6).tolist()
    word_ids = [[NO_WORD] + [i // 4 for i in range(38)] + [NO_WORD] for _ in rows]  # words of 4 ordinary tokens
    for row in rows:
        row[0], row[-1] = 2, 3
    masker = synthetic_masker(whole_word_masking=True)
    _, labels = masker.mask_rows(rows, [row_seed(0, 0, i) for i in range(len(rows))], word_ids)
    for label in labels:
        groups = [{label[1 + i] != IGNORE_INDEX for i in range(w * 4, min(w * 4 + 4, 38))} for w in range(10)]
        assert all(len(g) == 1 for g in groups)
    token_level = synthetic_masker()
    _, labels = token_level.mask_rows(rows, [row_seed(0, 0, i) for i in range(len(rows))], word_ids)
    mixed = sum(
        len({label[1 + i] != IGNORE_INDEX for i in range(w * 4, w * 4 + 4)}) > 1 for label in labels for w in range(9)
    )
    assert mixed > 100  # without whole-word masking the same groups are split


def test_spec_from_recipe_sections():
    from bertkit.recipes.schema import MaskedLMTask, PretrainingTask

    mlm = MaskingSpec.from_task(MaskedLMTask(type="masked-lm", mask_replace_prob=0.6, random_replace_prob=0.2))
    assert (mlm.mask_replace_prob, mlm.random_replace_prob) == (0.6, 0.2)
    pre = MaskingSpec.from_task(PretrainingTask(type="pretraining", whole_word_masking=True))
    assert pre == MaskingSpec(0.15, 0.8, 0.1, True)


@pytest.mark.parametrize("whole_word", [False, True])
def test_masker_pickles_for_dataloader_workers(tokenizer, whole_word):
    import pickle

    masker = TokenMasker.for_tokenizer(tokenizer, MaskingSpec(whole_word_masking=whole_word))
    row = tokenizer("the good movie washing")["input_ids"]
    before = masker.mask_rows([row], [11])
    assert pickle.loads(pickle.dumps(masker)).mask_rows([row], [11]) == before
