import random

from bertkit.training.sampling import LengthGroupedSampler, epoch_batches, longest_first, padding_share

RNG = random.Random(0)
LENGTHS = [RNG.randint(3, 60) for _ in range(1000)]


def test_every_example_once_and_only_the_last_batch_short():
    batches = epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=True, mega_batches=8)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(LENGTHS)))
    assert all(len(b) == 32 for b in batches[:-1])
    assert len(batches[-1]) == len(LENGTHS) % 32


def test_order_depends_only_on_seed_and_epoch():
    one = epoch_batches(LENGTHS, 32, seed=1, epoch=3, group_by_length=True, mega_batches=8)
    assert one == epoch_batches(LENGTHS, 32, seed=1, epoch=3, group_by_length=True, mega_batches=8)
    assert one != epoch_batches(LENGTHS, 32, seed=1, epoch=4, group_by_length=True, mega_batches=8)
    assert one != epoch_batches(LENGTHS, 32, seed=2, epoch=3, group_by_length=True, mega_batches=8)


def test_grouping_cuts_padding_but_keeps_batches_random():
    grouped = epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=True, mega_batches=50)
    plain = epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=False, mega_batches=50)
    assert padding_share(LENGTHS, grouped) < padding_share(LENGTHS, plain) / 3
    longest = [max(LENGTHS[i] for i in b) for b in grouped[:-1]]
    assert longest != sorted(longest, reverse=True)  # not one long descending sweep


def test_chunks_mix_lengths_within_a_batch_and_keep_each_chunk_grouped():
    whole = epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=True, mega_batches=50)
    mixed = epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=True, mega_batches=50, chunks=4)
    assert sorted(i for b in mixed for i in b) == list(range(len(LENGTHS)))
    assert all(len(b) == 32 for b in mixed[:-1]) and len(mixed[-1]) == len(LENGTHS) % 32

    def spread(batches, size):  # mean (longest - shortest) over pieces of `size`
        pieces = [b[i : i + size] for b in batches[:-1] for i in range(0, len(b), size)]
        return sum(max(LENGTHS[i] for i in p) - min(LENGTHS[i] for i in p) for p in pieces) / len(pieces)

    assert spread(mixed, 8) < 2 and spread(whole, 32) < 2  # each chunk of 8 similar lengths, as each whole batch
    assert spread(mixed, 32) > 10 * spread(whole, 32)  # but a batch holds several lengths
    assert padding_share(LENGTHS, mixed) < padding_share(
        LENGTHS, epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=False, mega_batches=50)
    )
    same = epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=True, mega_batches=50, chunks=1)
    assert same == whole


def test_each_batch_joins_one_chunk_of_every_length_range():
    batches = epoch_batches(LENGTHS, 32, seed=1, epoch=0, group_by_length=True, mega_batches=50, chunks=2)
    assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))
    assert all(len(b) == 32 for b in batches[:-1]) and len(batches[-1]) == len(LENGTHS) % 32
    median = sorted(LENGTHS)[len(LENGTHS) // 2]
    for batch in batches[:-1]:  # one mega-batch here: its longer half, then its shorter half
        longer, shorter = [LENGTHS[i] for i in batch[:16]], [LENGTHS[i] for i in batch[16:]]
        assert min(longer) >= median >= max(shorter)
        assert max(longer) - min(longer) < 5 and max(shorter) - min(shorter) < 5
    odd = epoch_batches(LENGTHS, 30, seed=1, epoch=0, group_by_length=True, mega_batches=4, chunks=4)
    assert sorted(i for b in odd for i in b) == list(range(len(LENGTHS)))
    assert all(len(b) == 30 for b in odd[:-1]) and len(odd[-1]) == len(LENGTHS) % 30


def test_sampler_yields_the_batches_in_order():
    sampler = LengthGroupedSampler(LENGTHS, 16, seed=5)
    sampler.set_epoch(2)
    assert list(sampler) == [i for b in sampler.batches() for i in b]
    assert len(sampler) == len(LENGTHS)


def test_longest_first():
    assert longest_first([3, 9, 1, 9]) == [1, 3, 0, 2]


def test_length_chunks_default_to_the_task_s_only_for_models_that_skip_padding():
    from types import SimpleNamespace

    from bertkit.modeling import speedups
    from bertkit.tasks.token_classification import TokenClassificationTask
    from bertkit.training.api import length_chunks
    from tests.modeling.test_speedups import tiny

    prepared = SimpleNamespace(task=SimpleNamespace(length_chunks=TokenClassificationTask.length_chunks))
    training = SimpleNamespace(group_by_length=True, length_chunks=None)
    tagger = tiny("Bert", head="TokenClassification")
    assert length_chunks(tagger, prepared, training) == 1  # padded layers: whole batches of similar lengths
    speedups.apply_speedups(tagger, device_type="cpu", head_reads="labeled")
    assert length_chunks(tagger, prepared, training) == 2
    assert length_chunks(tagger, prepared, SimpleNamespace(group_by_length=True, length_chunks=4)) == 4
    assert length_chunks(tagger, prepared, SimpleNamespace(group_by_length=False, length_chunks=2)) == 1
