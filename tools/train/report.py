#!/usr/bin/env python3
"""The model card's numbers for one model file on one CoNLL split, all through the albertner CLI:

  - entity-level P/R/F1 per type (`albertner eval --json`), argmax and `--constrained` (Viterbi);
  - recall on gold entities whose words occur as an entity of the same type in the training split
    ("seen") and on the others ("unseen");
  - with the model's default aggregation and with `simple`, `albertner tag` on the split's sentences (words joined by single
    spaces): the number of entities against the gold count, and how many entities are a piece of a
    whitespace word (start or end inside a word).

  /usr/bin/python3 tools/train/report.py --cli build/albertner --model M.safetensors --split valid [--json OUT]

Choose on `valid`; read `test` once, for the model that ships.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import chunks, read_conll  # noqa: E402  (train.py's conlleval chunker and reader)


def eval_json(cli, model, data, constrained, predictions=None):
    cmd = [cli, "eval", "-m", model, "--data", data, "--json", "--threads", "2"]
    if constrained:
        cmd.append("--constrained")
    if predictions:
        cmd += ["--predictions", predictions]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def read_predictions(path):
    """Sentences of (gold tags, predicted tags) from `eval --predictions` (WORD GOLD PREDICTED)."""
    sents, gold, pred = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if not cols:
                if gold:
                    sents.append((gold, pred))
                    gold, pred = [], []
                continue
            gold.append(cols[-2])
            pred.append(cols[-1])
    if gold:
        sents.append((gold, pred))
    return sents


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cli", default="build/albertner")
    p.add_argument("--model", required=True)
    p.add_argument("--data", default="/work/shared/data/conll2003")
    p.add_argument("--split", default="valid", choices=["valid", "test"])
    p.add_argument("--json", help="also write the report here")
    a = p.parse_args()

    data = os.path.join(a.data, a.split + ".txt")
    train = read_conll(os.path.join(a.data, "train.txt"))
    split = read_conll(data)
    seen = set()
    for words, tags in train:
        for type_, b, e in chunks(tags):
            seen.add((type_, tuple(words[b:e])))

    report = {"model": a.model, "split": a.split}
    with tempfile.TemporaryDirectory() as tmp:
        for name, constrained in (("argmax", False), ("constrained", True)):
            preds = os.path.join(tmp, name + ".txt")
            scores = eval_json(a.cli, a.model, data, constrained, preds)
            found = {"seen": [0, 0], "unseen": [0, 0]}  # [recalled, gold]
            for (words, _), (gold, pred) in zip(split, read_predictions(preds)):
                predicted = set(chunks(pred))
                for c in chunks(gold):
                    kind = "seen" if (c[0], tuple(words[c[1]:c[2]])) in seen else "unseen"
                    found[kind][1] += 1
                    found[kind][0] += c in predicted
            scores["recall_seen"] = round(found["seen"][0] / max(1, found["seen"][1]), 4)
            scores["recall_unseen"] = round(found["unseen"][0] / max(1, found["unseen"][1]), 4)
            scores["gold_seen"], scores["gold_unseen"] = found["seen"][1], found["unseen"][1]
            report[name] = scores

        texts = os.path.join(tmp, "texts.txt")
        with open(texts, "w", encoding="utf-8") as f:
            for words, _ in split:
                f.write(" ".join(words) + "\n")
        gold = sum(len(chunks(tags)) for _, tags in split)
        for aggregation in ("default", "simple"):
            cmd = [a.cli, "tag", "-m", a.model, "-i", texts, "--threads", "2"]
            if aggregation != "default":
                cmd += ["--aggregation", aggregation]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
            entities = pieces = 0
            for (words, _), line in zip(split, out):
                text = " ".join(words).encode("utf-8")
                for e in json.loads(line):
                    entities += 1
                    b, en = e["byte_start"], e["byte_end"]
                    if (b > 0 and text[b - 1:b] != b" ") or (en < len(text) and text[en:en + 1] != b" "):
                        pieces += 1
            report[aggregation + "_aggregation"] = {"entities": entities, "gold_entities": gold,
                                                    "ratio": round(entities / max(1, gold), 4),
                                                    "pieces_of_words": pieces}
    text = json.dumps(report, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
