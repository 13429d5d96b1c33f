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


def test_sampler_yields_the_batches_in_order():
    sampler = LengthGroupedSampler(LENGTHS, 16, seed=5)
    sampler.set_epoch(2)
    assert list(sampler) == [i for b in sampler.batches() for i in b]
    assert len(sampler) == len(LENGTHS)


def test_longest_first():
    assert longest_first([3, 9, 1, 9]) == [1, 3, 0, 2]
