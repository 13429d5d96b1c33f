"""Inference benchmark: `bertkit classify` (library path, default settings) vs `transformers.pipeline`.

Both run in the same process on the same texts and the same model: the packaged all-MiniLM-L6-v2 encoder with
a sentiment head trained here on SST-2 (pooler + classifier fitted on frozen [CLS] features, so predictions are
meaningful rather than random near-ties). Prints texts/second of each, the ratio, and how often the predicted
labels agree.

    flock /tmp/bertkit-bench.lock python bench/infer.py

The head is cached in bench/out/ (git-ignored); delete that folder to retrain it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local: never wait on the hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DATA = Path(os.environ.get("BERTKIT_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
OUT = Path(__file__).resolve().parent / "out"
PROBE_VERSION = 1  # bump when the head recipe below changes, so a stale cached head is rebuilt
LABELS = ("negative", "positive")


def read_sst2(path: Path) -> list[tuple[str, int]]:
    """``sentence<TAB>label`` rows after a header; GLUE sentences end with a space, stripped here."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(s.strip(), int(y)) for s, y in (line.split("\t") for line in lines if line.strip())]


def cls_features(model, tokenizer, sentences: list[str], batch_size: int = 64):
    """Frozen [CLS] hidden states in fp32 (what BertForSequenceClassification's pooler reads)."""
    import torch

    parts = []
    with torch.inference_mode():
        for i in range(0, len(sentences), batch_size):
            batch = tokenizer(sentences[i : i + batch_size], padding=True, truncation=True, return_tensors="pt")
            parts.append(model(**batch).last_hidden_state[:, 0])
    return torch.cat(parts)


def fit_head(features, labels, pooler_state: dict, seed: int, epochs: int = 30):
    """Train pooler (init: MiniLM's own) + 2-way classifier on fixed features: a short, seeded run."""
    import torch
    from torch.nn import functional

    torch.manual_seed(seed)
    pooler, classifier = torch.nn.Linear(384, 384), torch.nn.Linear(384, len(LABELS))
    pooler.load_state_dict(pooler_state)
    params = [*pooler.parameters(), *classifier.parameters()]
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    targets = torch.as_tensor(labels)
    for _ in range(epochs):
        order = torch.randperm(len(targets))
        for i in range(0, len(order), 64):
            idx = order[i : i + 64]
            hidden = torch.tanh(pooler(functional.dropout(features[idx], 0.1)))
            loss = functional.cross_entropy(classifier(hidden), targets[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return pooler.state_dict(), classifier.state_dict()


def build_probe_model(folder: Path, train: list[tuple[str, int]], seed: int) -> Path:
    """A MiniLM sentiment classifier folder (cached): encoder as packaged, head trained on ``train``."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel

    from bertkit.io.outputs import atomic_directory
    from bertkit.modeling.hub import packaged_minilm_path

    stamp = {"version": PROBE_VERSION, "seed": seed, "train_sentences": len(train)}
    marker = folder / "bench_probe.json"
    if marker.is_file() and json.loads(marker.read_text()) == stamp:
        return folder
    print(f"Training the sentiment head on {len(train)} SST-2 train sentences (cached in {folder}) ...", flush=True)
    source = packaged_minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(source)
    encoder = BertModel.from_pretrained(source).eval()
    features = cls_features(encoder, tokenizer, [s for s, _ in train])
    pooler, head = fit_head(features, [y for _, y in train], encoder.pooler.dense.state_dict(), seed)
    config = BertConfig.from_pretrained(
        source, num_labels=2, id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)}
    )
    model = BertForSequenceClassification(config)
    model.bert.load_state_dict(encoder.state_dict())
    model.bert.pooler.dense.load_state_dict(pooler)
    model.classifier.load_state_dict(head)
    with atomic_directory(folder) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "bench_probe.json").write_text(json.dumps(stamp))
    return folder


def make_texts(pool: list[str], dev: list[str], count: int, tokenizer, seed: int) -> list[str]:
    """SST-2 dev sentences (a few to ~60 tokens) plus documents joined from train sentences, 60-250 tokens."""
    rng = random.Random(seed)
    texts = list(dev[:count])
    while len(texts) < count:
        target = rng.randint(60, 250)
        parts, tokens = [], 0
        while tokens < target:
            sentence = rng.choice(pool)
            parts.append(sentence)
            tokens += len(tokenizer.tokenize(sentence)) + 1
        text = " . ".join(parts)
        if len(tokenizer(text)["input_ids"]) <= 256:
            texts.append(text)
    rng.shuffle(texts)
    return texts


BERTKIT = "bertkit classify (defaults: batch 32, precision auto)"
PIPELINE = "transformers pipeline (defaults: batch 1, fp32)"
PIPELINE_32 = "  context: pipeline with batch_size=32 (fp32)"
BERTKIT_FP32 = "  context: bertkit classify --precision fp32"


def bertkit_runner(folder: Path, texts: list[str], precision: str = "auto"):
    """What `bertkit classify --input FILE` runs once the model is loaded (no flags: every default)."""
    from bertkit.inference.classify import classify
    from bertkit.modeling.loading import load_for_inference

    loaded = load_for_inference(str(folder), "text-classification", precision=precision)
    classify(loaded, texts[:32])  # warm-up: first-call kernel setup is not throughput
    return (lambda: [(r.label, r.score) for r in classify(loaded, texts)]), loaded.precision


def pipeline_runner(folder: Path, texts: list[str], batch_size: int | None = None):
    """``pipeline("text-classification", model=...)(texts)``, as a user calls it."""
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(folder))
    kwargs = {} if batch_size is None else {"batch_size": batch_size}
    classifier(texts[:32], **kwargs)
    return lambda: [(r["label"], r["score"]) for r in classifier(texts, **kwargs)]


def measure(folder: Path, texts: list[str], repeats: int, quick: bool) -> dict:
    """Best wall time of each setup over ``repeats`` interleaved rounds.

    The CPU may be shared: interleaving exposes every setup to the same disturbances, and the minimum is
    the least disturbed run of each.
    """
    bertkit_run, precision = bertkit_runner(folder, texts)
    runners = {BERTKIT: bertkit_run, PIPELINE: pipeline_runner(folder, texts)}
    if not quick:
        runners[PIPELINE_32] = pipeline_runner(folder, texts, batch_size=32)
        runners[BERTKIT_FP32] = bertkit_runner(folder, texts, precision="fp32")[0]
    seconds = dict.fromkeys(runners, float("inf"))
    labels: dict[str, list[tuple[str, float]]] = {}
    for round_number in range(1, repeats + 1):
        for name, run in runners.items():
            start = time.perf_counter()
            labels[name] = run()
            seconds[name] = min(seconds[name], time.perf_counter() - start)
            print(f"round {round_number}/{repeats}: {name.strip()}: {time.perf_counter() - start:.2f}s", flush=True)
    return {"seconds": seconds, "labels": labels, "precision": precision}


def agreement(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> float:
    return sum(x[0] == y[0] for x, y in zip(a, b, strict=True)) / len(a)


def disagreement_margin(ours: list[tuple[str, float]], reference: list[tuple[str, float]]) -> str:
    """How close to a tie the reference was wherever the labels differ (2 labels: a score near 0.5)."""
    scores = [ref[1] for mine, ref in zip(ours, reference, strict=True) if mine[0] != ref[0]]
    return f"{len(scores)} text(s)" + (f", pipeline top score <= {max(scores):.4f} on each" if scores else "")


def accuracy(texts: list[str], labels: list[tuple[str, float]], gold: dict[str, int]) -> float:
    scored = [(LABELS[gold[t]] == label) for t, (label, _) in zip(texts, labels, strict=True) if t in gold]
    return sum(scored) / len(scored)


def environment() -> dict[str, str]:
    import torch
    import transformers

    import bertkit
    from bertkit.modeling.device import cpu_has_fast_bf16

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "bertkit": bertkit.__version__,
        "torch threads": str(torch.get_num_threads()),
        "cpu bf16 (AVX512-BF16/AMX)": str(cpu_has_fast_bf16()),
        "cpu": platform.processor() or platform.machine(),
    }


def matmul_ceiling(hidden: int = 384, intermediate: int = 1536, rows: int = 1024) -> dict[str, str]:
    """fp32 and bf16 GFLOP/s of the model's own linear-layer shapes, measured now. On long texts, where the
    pipeline at batch 1 pads nothing and its fp32 matmuls run near this rate, their ratio is about all that bf16
    can gain; batching gains more only on short texts, where the pipeline's per-call overhead dominates."""
    import torch

    rates: dict[str, float] = {}
    for dtype in (torch.float32, torch.bfloat16):
        total_flops, total_seconds = 0.0, 0.0
        for k, n in ((hidden, hidden), (hidden, intermediate), (intermediate, hidden)):
            x, w = torch.randn(rows, k, dtype=dtype), torch.randn(n, k, dtype=dtype)
            for _ in range(3):
                torch.nn.functional.linear(x, w)
            repeats = 20
            start = time.perf_counter()
            for _ in range(repeats):
                torch.nn.functional.linear(x, w)
            total_seconds += time.perf_counter() - start
            total_flops += 2.0 * rows * k * n * repeats
        rates[str(dtype).removeprefix("torch.")] = total_flops / total_seconds / 1e9
    return {
        "linear layers fp32 / bf16 GFLOP/s (model shapes)": f"{rates['float32']:.0f} / {rates['bfloat16']:.0f}",
        "bf16 / fp32 matmul speed, model shapes": f"{rates['bfloat16'] / rates['float32']:.2f}x",
    }


def summary_facts(texts: list[str], lengths: list[int], result: dict, gold: dict[str, int]) -> dict[str, str]:
    seconds, labels = result["seconds"], result["labels"]
    ordered, n = sorted(lengths), len(texts)
    pct = {p: ordered[min(n - 1, int(p / 100 * n))] for p in (0, 50, 90, 100)}
    facts = {
        "speed-up, bertkit defaults vs pipeline defaults": f"{seconds[PIPELINE] / seconds[BERTKIT]:.2f}x",
        "labels identical, bertkit defaults vs pipeline": f"{agreement(labels[BERTKIT], labels[PIPELINE]):.2%}",
        "labels that differ": disagreement_margin(labels[BERTKIT], labels[PIPELINE]),
    }
    if BERTKIT_FP32 in labels:
        facts["labels identical, bertkit fp32 vs pipeline"] = f"{agreement(labels[BERTKIT_FP32], labels[PIPELINE]):.2%}"
    facts |= {
        "SST-2 dev accuracy, bertkit / pipeline": f"{accuracy(texts, labels[BERTKIT], gold):.2%} / "
        f"{accuracy(texts, labels[PIPELINE], gold):.2%}",
        "bertkit precision (auto resolved to)": result["precision"],
        "bertkit batch size": "32 (default)",
        "texts / tokens": f"{n} / {sum(lengths)}",
        "tokens per text min / median / p90 / max": " / ".join(str(pct[p]) for p in (0, 50, 90, 100)),
    }
    return facts | matmul_ceiling() | environment()


def print_report(texts: list[str], lengths: list[int], result: dict, gold: dict[str, int]) -> dict[str, str]:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=120)
    n, seconds = len(texts), result["seconds"]
    table = Table(title=f"text classification: {n} texts of mixed length, MiniLM-L6 + SST-2 head, same process")
    for name in ("setup", "seconds (best)", "texts/s", "vs pipeline defaults"):
        table.add_column(name, justify="left" if name == "setup" else "right")
    for name, sec in seconds.items():
        table.add_row(name, f"{sec:.2f}", f"{n / sec:.1f}", f"{seconds[PIPELINE] / sec:.2f}x")
    console.print(table)
    facts = summary_facts(texts, lengths, result, gold)
    for key, value in facts.items():
        console.print(f"{key:>48}: {value}", markup=False)
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1200, help="texts to classify (>= 1000 for the report)")
    parser.add_argument("--train-sentences", type=int, default=4000, help="SST-2 train sentences for the head")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved timed rounds; each setup's best is kept")
    parser.add_argument("--quick", action="store_true", help="skip the context rows (pipeline batch 32, bertkit fp32)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from transformers import AutoTokenizer

    from bertkit.cli.common import quiet_libraries

    quiet_libraries()  # no load reports or progress bars in the middle of the measurements

    train = read_sst2(DATA / "sst2" / "train.tsv")
    dev = read_sst2(DATA / "sst2" / "dev.tsv")
    random.Random(args.seed).shuffle(train)
    head_rows, pool = train[: args.train_sentences], [s for s, _ in train[args.train_sentences :]]
    folder = build_probe_model(OUT / "minilm-sst2-head", head_rows, args.seed)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    texts = make_texts(pool, [s for s, _ in dev], args.texts, tokenizer, args.seed)
    lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]]
    result = measure(folder, texts, args.repeats, args.quick)
    facts = print_report(texts, lengths, result, dict(dev))
    report = {
        "seconds": result["seconds"],
        "texts_per_second": {k: len(texts) / v for k, v in result["seconds"].items()},
    }
    (OUT / "infer.json").write_text(json.dumps(report | {"facts": facts}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
