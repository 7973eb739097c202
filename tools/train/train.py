#!/usr/bin/env python3
"""Train albertner's small bundled CoNLL-2003 NER model from scratch (plain PyTorch, no transformers).

Stages (wall time of each goes into OUT/train_log.json):
  1. spm_train: SentencePiece unigram tokenizer on the CoNLL-2003 train sentences (cased).
  2. tokenize:  a randomly initialised HF folder is converted with `albertner convert`, and the CoNLL
                words are tokenized with `albertner tokenize` (JSON lines {"words": [...]}) so that the
                training ids are exactly the ids the C++ library produces at inference.
  3. train:     ALBERT token classifier (state_dict keys and math = HF AlbertForTokenClassification),
                AdamW, linear warmup/decay, length-bucketed batches; dev F1 (conlleval rules, first
                sub-token per word) after every epoch selects the checkpoint.
  4. export:    best checkpoint -> OUT/hf (config.json, pytorch_model.bin, spiece.model,
                tokenizer_config.json) -> `albertner convert` -> --model-out.
The best checkpoint is exported after every improving epoch, so an interrupted run still leaves a model.
"""
import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
L2I = {l: i for i, l in enumerate(LABELS)}


# ----------------------------------------------------------------------------------------------- data
def read_conll(path):
    sents, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if words:
                    sents.append((words, tags))
                    words, tags = [], []
                continue
            cols = line.split(" ")
            if cols[0] == "-DOCSTART-":
                continue
            words.append(cols[0])
            tags.append(cols[-1])
    if words:
        sents.append((words, tags))
    return sents


# ------------------------------------------------------------------------------------------ conlleval
def _end_of_chunk(prev_tag, tag, prev_type, type_):
    if prev_tag in ("B", "I") and tag in ("B", "O"):
        return True
    if prev_tag in ("B", "I") and tag == "I" and prev_type != type_:
        return True
    return False


def _start_of_chunk(prev_tag, tag, prev_type, type_):
    if tag == "B":
        return True
    if prev_tag in ("O",) and tag == "I":
        return True
    if prev_tag in ("B", "I") and tag == "I" and prev_type != type_:
        return True
    return False


def chunks(seq):
    """Chunks (type, start, end) of one sentence under conlleval's rules (IOB1/IOB2 tolerant)."""
    out, prev_tag, prev_type, start = [], "O", "", None
    for i, lab in enumerate(list(seq) + ["O"]):
        tag, type_ = (lab.split("-", 1) + [""])[:2] if lab != "O" else ("O", "")
        if start is not None and _end_of_chunk(prev_tag, tag, prev_type, type_):
            out.append((prev_type, start, i))
            start = None
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            start = i
        prev_tag, prev_type = tag, type_
    return out


def conll_f1(gold_sents, pred_sents):
    tp = ng = np_ = 0
    for g, p in zip(gold_sents, pred_sents):
        gc, pc = set(chunks(g)), set(chunks(p))
        tp += len(gc & pc)
        ng += len(gc)
        np_ += len(pc)
    prec = tp / np_ if np_ else 0.0
    rec = tp / ng if ng else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


# --------------------------------------------------------------------------------------- augmentation
# Unusual symbols (not in CoNLL's train text, so mostly <unk> or rare pieces) that users' text carries:
# they are inserted as O words so the model stops reading them as names.
SYMBOLS = ["\u201c", "\u201d", "\u2018", "\u2019", "\u2013", "\u2014", "\u2026", "\u2022", "\u20ac", "\u00a3",
           "\u00a9", "\u2122", "\u2192", "\u00ab", "\u00bb", "\u201e", "\U0001f600", "\U0001f44d", "\u2764", "#", "@"]


def mentions_by_type(sents):
    """Every entity mention of the training data, as word tuples, per type."""
    out = {}
    for words, tags in sents:
        for type_, b, e in chunks(tags):
            out.setdefault(type_, []).append(tuple(words[b:e]))
    return out


def mutate_word(w, rng):
    """A new spelling with the same casing pattern: each letter but the first is replaced with p 0.2."""
    chars = list(w)
    for i in range(1, len(chars)):
        c = chars[i]
        if c.isalpha() and c.isascii() and rng.random() < 0.2:
            n = rng.choice("abcdefghijklmnopqrstuvwxyz")
            chars[i] = n.upper() if c.isupper() else n
    return "".join(chars)


def augment(words, tags, mentions, rng):
    """One augmented copy of a sentence: entity-mention replacement (a random mention of the same type from
    the training data, p 0.7 per mention), name mutation (p 0.3 per mention), upper-casing of the whole
    sentence (p 0.05, CoNLL's headlines), and an unusual symbol inserted as an O word (p 0.15)."""
    out_w, out_t, i = [], [], 0
    spans = {b: (type_, e) for type_, b, e in chunks(tags)}
    while i < len(words):
        if i in spans:
            type_, e = spans[i]
            m = list(rng.choice(mentions[type_])) if rng.random() < 0.7 else words[i:e]
            if rng.random() < 0.3:
                m = [mutate_word(w, rng) for w in m]
            out_w += m
            out_t += ["B-" + type_] + ["I-" + type_] * (len(m) - 1)
            i = e
        else:
            out_w.append(words[i])
            out_t.append(tags[i])
            i += 1
    if rng.random() < 0.05:
        out_w = [w.upper() for w in out_w]
    if rng.random() < 0.15:
        k = rng.randrange(len(out_w) + 1)
        # never inside a mention: before a B- or O word, or at the end
        if k == len(out_w) or not out_t[k].startswith("I-"):
            out_w.insert(k, rng.choice(SYMBOLS))
            out_t.insert(k, "O")
    return out_w, out_t


# -------------------------------------------------------------------------------------------- model
class AlbertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["embedding_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["embedding_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["embedding_size"])
        self.LayerNorm = nn.LayerNorm(c["embedding_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)))

    def forward(self, ids):
        T = ids.shape[1]
        x = self.word_embeddings(ids) + self.token_type_embeddings(torch.zeros_like(ids))
        x = x + self.position_embeddings(self.position_ids[:, :T])
        return self.dropout(self.LayerNorm(x))


class AlbertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.hd = H // self.heads
        self.query, self.key, self.value, self.dense = (nn.Linear(H, H) for _ in range(4))
        self.attention_dropout = nn.Dropout(c["attention_probs_dropout_prob"])
        self.output_dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])

    def forward(self, h, ext_mask):
        B, T, H = h.shape
        split = lambda x: x.view(B, T, self.heads, self.hd).transpose(1, 2)
        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd) + ext_mask
        probs = self.attention_dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H)
        return self.LayerNorm(h + self.output_dropout(self.dense(ctx)))


class AlbertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.attention = AlbertAttention(c)
        self.ffn = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.ffn_output = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, ext_mask):
        a = self.attention(h, ext_mask)
        f = self.ffn_output(F.gelu(self.ffn(a), approximate="tanh"))  # == gelu_new
        return self.full_layer_layer_norm(self.dropout(f) + a)


class AlbertLayerGroup(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(c) for _ in range(c["inner_group_num"])])

    def forward(self, h, ext_mask):
        for layer in self.albert_layers:
            h = layer(h, ext_mask)
        return h


class AlbertTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embedding_hidden_mapping_in = nn.Linear(c["embedding_size"], c["hidden_size"])
        self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup(c) for _ in range(c["num_hidden_groups"])])

    def forward(self, x, ext_mask):
        h = self.embedding_hidden_mapping_in(x)
        L, G = self.c["num_hidden_layers"], self.c["num_hidden_groups"]
        for i in range(L):
            h = self.albert_layer_groups[int(i / (L / G))](h, ext_mask)
        return h


class AlbertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = AlbertEmbeddings(c)
        self.encoder = AlbertTransformer(c)

    def forward(self, ids, mask):
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(ids), ext)


class AlbertForTokenClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.albert = AlbertModel(c)
        self.dropout = nn.Dropout(c["classifier_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], c["num_labels"])
        self.apply(lambda m: init_weights(m, c["initializer_range"]))

    def forward(self, ids, mask):
        return self.classifier(self.dropout(self.albert(ids, mask)))


def init_weights(m, std):  # HF AlbertPreTrainedModel._init_weights
    if isinstance(m, nn.Linear):
        m.weight.data.normal_(0.0, std)
        m.bias.data.zero_()
    elif isinstance(m, nn.Embedding):
        m.weight.data.normal_(0.0, std)
        if m.padding_idx is not None:
            m.weight.data[m.padding_idx].zero_()
    elif isinstance(m, nn.LayerNorm):
        m.weight.data.fill_(1.0)
        m.bias.data.zero_()


# ------------------------------------------------------------------------------------------- helpers
def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def hf_config(a, vocab_size):
    return {
        "architectures": ["AlbertForTokenClassification"],
        "model_type": "albert",
        "vocab_size": vocab_size,
        "embedding_size": a.embedding_size,
        "hidden_size": a.hidden_size,
        "num_attention_heads": a.heads,
        "intermediate_size": a.intermediate_size,
        "num_hidden_layers": a.layers,
        "num_hidden_groups": 1,
        "inner_group_num": 1,
        "hidden_act": "gelu_new",
        "hidden_dropout_prob": a.dropout,
        "attention_probs_dropout_prob": a.dropout,
        "classifier_dropout_prob": a.dropout,
        "max_position_embeddings": a.max_position,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute",
        "pad_token_id": 0,
        "bos_token_id": 2,
        "eos_token_id": 3,
        "id2label": {str(i): l for i, l in enumerate(LABELS)},
        "label2id": dict(L2I),
        "num_labels": len(LABELS),
        "torch_dtype": "float32",
    }


def tokenizer_config(a):
    return {
        "do_lower_case": False,
        "remove_space": True,
        "keep_accents": False,
        "bos_token": "[CLS]",
        "eos_token": "[SEP]",
        "unk_token": "<unk>",
        "sep_token": "[SEP]",
        "pad_token": "<pad>",
        "cls_token": "[CLS]",
        "mask_token": {"__type": "AddedToken", "content": "[MASK]", "lstrip": True, "normalized": False,
                       "rstrip": False, "single_word": False},
        "model_max_length": a.max_position,
        "sp_model_kwargs": {},
        "tokenizer_class": "AlbertTokenizer",
    }


def write_hf(dirname, a, cfg, model, spiece):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "config.json"), "w") as f:
        json.dump({k: cfg[k] for k in cfg if k != "num_labels"}, f, indent=2, sort_keys=True)
    with open(os.path.join(dirname, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(a), f, indent=2)
    with open(os.path.join(dirname, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>", "sep_token": "[SEP]",
                   "pad_token": "<pad>", "cls_token": "[CLS]", "mask_token": "[MASK]"}, f, indent=2)
    shutil.copyfile(spiece, os.path.join(dirname, "spiece.model"))
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(dirname, "pytorch_model.bin"))  # zip format (torch >= 1.6 default)


def tokenize_with_cli(cli, model_file, sents, path):
    with open(path, "w", encoding="utf-8") as f:
        for words, _ in sents:
            f.write(json.dumps({"words": words}, ensure_ascii=False) + "\n")
    with open(path, encoding="utf-8") as fin:
        out = subprocess.run([cli, "tokenize", "-m", model_file, "--input-format", "jsonl"], stdin=fin, check=True, capture_output=True,
                             text=True).stdout
    encs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(encs) == len(sents), (len(encs), len(sents))
    return encs


def continuation_label(tag):
    """The label a word's later sub-tokens train on (--label-all): I- of the word's type, O for O."""
    return tag if tag == "O" else "I-" + tag[2:]


def make_examples(sents, encs, max_len, label_all=False):
    ex, truncated = [], 0
    for (words, tags), e in zip(sents, encs):
        ids, wids = e["input_ids"], e["word_ids"]
        labels, prev = [], None
        for w in wids:
            if w is None:
                labels.append(-100)
            elif w != prev:
                labels.append(L2I[tags[w]])
            else:
                labels.append(L2I[continuation_label(tags[w])] if label_all else -100)
            prev = w
        if len(ids) > max_len:  # keep [CLS] ... , end with [SEP]
            truncated += 1
            ids = ids[:max_len - 1] + [ids[-1]]
            labels = labels[:max_len - 1] + [-100]
            wids = wids[:max_len - 1] + [None]
        ex.append({"ids": ids, "labels": labels, "word_ids": wids, "n_words": len(words), "tags": tags})
    return ex, truncated


def batches(ex, max_sents, max_tokens, rng):
    order = sorted(range(len(ex)), key=lambda i: (len(ex[i]["ids"]), rng.random() if rng else i))
    out, cur, cur_max = [], [], 0
    for i in order:
        n = len(ex[i]["ids"])
        if cur and (len(cur) + 1 > max_sents or max(cur_max, n) * (len(cur) + 1) > max_tokens):
            out.append(cur)
            cur, cur_max = [], 0
        cur.append(i)
        cur_max = max(cur_max, n)
    if cur:
        out.append(cur)
    if rng:
        rng.shuffle(out)
    return out


def collate(ex, idx, word_dropout=0.0, rng=None):
    """Padded tensors of the examples idx. With word_dropout, each word's pieces become <unk> (id 1) with that
    probability (labels kept), so the model learns to tag from context."""
    T = max(len(ex[i]["ids"]) for i in idx)
    ids = torch.zeros(len(idx), T, dtype=torch.long)
    mask = torch.zeros(len(idx), T, dtype=torch.long)
    labels = torch.full((len(idx), T), -100, dtype=torch.long)
    for r, i in enumerate(idx):
        n = len(ex[i]["ids"])
        row = ex[i]["ids"]
        if word_dropout > 0:
            drop, row = {}, list(row)
            for t, w in enumerate(ex[i]["word_ids"]):
                if w is not None:
                    if w not in drop:
                        drop[w] = rng.random() < word_dropout
                    if drop[w]:
                        row[t] = 1
        ids[r, :n] = torch.tensor(row)
        mask[r, :n] = 1
        labels[r, :n] = torch.tensor(ex[i]["labels"])
    return ids, mask, labels


@torch.no_grad()
def evaluate(model, ex, a):
    model.eval()
    gold, pred = [], []
    for idx in batches(ex, 64, 8192, None):
        ids, mask, _ = collate(ex, idx)
        am = model(ids, mask).argmax(-1)
        for r, i in enumerate(idx):
            e = ex[i]
            p = ["O"] * e["n_words"]  # words with no token (or truncated away) count as O
            prev = None
            for t, w in enumerate(e["word_ids"]):
                if w is not None and w != prev:
                    p[w] = LABELS[am[r, t].item()]
                prev = w
            gold.append(e["tags"])
            pred.append(p)
    model.train()
    return conll_f1(gold, pred)


# ---------------------------------------------------------------------------------------------- main
def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="/work/shared/data/conll2003")
    p.add_argument("--cli", default="build-train/albertner")
    p.add_argument("--out", default="tools/train/out")
    p.add_argument("--model-out", default="models/albertner-conll03-small.safetensors")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vocab-size", type=int, default=10000)
    p.add_argument("--embedding-size", type=int, default=128)
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate-size", type=int, default=1024)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--max-position", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--batch-sents", type=int, default=32)
    p.add_argument("--batch-tokens", type=int, default=2048)
    p.add_argument("--label-all", action=argparse.BooleanOptionalAction, default=True,
                   help="train every sub-token (later pieces of a word on I- of its type); --no-label-all: the "
                        "first only")
    p.add_argument("--word-dropout", type=float, default=0.05,
                   help="probability that a training word's pieces are replaced by <unk> in a batch")
    p.add_argument("--aug-prob", type=float, default=0.8,
                   help="probability that a training sentence is replaced, in an epoch, by an augmented copy "
                        "(mention replacement and mutation, symbols, upper case)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--average-last", type=int, default=4,
                   help="after training, also try the mean of the last N epochs' weights (checkpoint averaging); "
                        "it is kept when its dev F1 beats the best epoch's")
    p.add_argument("--aggregation", default="first",
                   help="aggregation the exported file recommends (albertner convert --aggregation)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (pilot runs)")
    p.add_argument("--max-minutes", type=float, default=0,
                   help="safety stop: end training once this much training time has passed (0 = off)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    log = {"args": vars(a), "torch": torch.__version__, "stages": {}, "epochs": []}
    log_path = os.path.join(a.out, "train_log.json")

    def save_log():
        with open(log_path, "w") as f:
            json.dump(log, f, indent=2)

    t_all = time.time()
    train = read_conll(os.path.join(a.data, "train.txt"))
    valid = read_conll(os.path.join(a.data, "valid.txt"))
    print(f"train {len(train)} sentences, valid {len(valid)}", flush=True)

    # 1. SentencePiece unigram tokenizer --------------------------------------------------------------
    t0 = time.time()
    spm_dir = os.path.join(a.out, "spm")
    os.makedirs(spm_dir, exist_ok=True)
    corpus = os.path.join(spm_dir, "train_sentences.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for words, _ in train:
            f.write(" ".join(words) + "\n")
    prefix = os.path.join(spm_dir, "spiece")
    run(["spm_train", f"--input={corpus}", f"--model_prefix={prefix}", f"--vocab_size={a.vocab_size}",
         "--model_type=unigram", "--pad_id=0", "--unk_id=1", "--bos_id=-1", "--eos_id=-1",
         "--control_symbols=[CLS],[SEP],[MASK]", "--normalization_rule_name=nmt_nfkc",
         "--character_coverage=1.0", f"--random_seed={a.seed}", "--num_threads=1",
         "--minloglevel=1"])
    spiece = prefix + ".model"
    log["stages"]["spm_train_s"] = round(time.time() - t0, 1)

    # 2. tokenize with the C++ library ------------------------------------------------------------------
    t0 = time.time()
    cfg = hf_config(a, a.vocab_size)
    model = AlbertForTokenClassification(cfg)
    init_dir = os.path.join(a.out, "hf-init")
    write_hf(init_dir, a, cfg, model, spiece)
    init_st = os.path.join(a.out, "init.safetensors")
    run([a.cli, "convert", init_dir, "-o", init_st], stdout=subprocess.DEVNULL)
    train_enc = tokenize_with_cli(a.cli, init_st, train, os.path.join(a.out, "train_words.jsonl"))
    valid_enc = tokenize_with_cli(a.cli, init_st, valid, os.path.join(a.out, "valid_words.jsonl"))
    train_ex, tr_trunc = make_examples(train, train_enc, a.max_position, a.label_all)
    valid_ex, va_trunc = make_examples(valid, valid_enc, a.max_position)
    # The training set of each epoch: every sentence, or with p aug_prob an augmented copy of it. All epochs'
    # copies are made and tokenized (by the C++ library, one call) before training.
    epoch_ex, n_copies = [train_ex] * a.epochs, 0
    if a.aug_prob > 0:
        aug_rng, mentions = random.Random(a.seed + 1), mentions_by_type(train)
        picks, copies = [], []
        for ep in range(a.epochs):
            for si, (words, tags) in enumerate(train):
                if aug_rng.random() < a.aug_prob:
                    picks.append((ep, si))
                    copies.append(augment(words, tags, mentions, aug_rng))
        copy_enc = tokenize_with_cli(a.cli, init_st, copies, os.path.join(a.out, "augmented_words.jsonl"))
        copy_ex, _ = make_examples(copies, copy_enc, a.max_position, a.label_all)
        epoch_ex = [list(train_ex) for _ in range(a.epochs)]
        for (ep, si), e in zip(picks, copy_ex):
            epoch_ex[ep][si] = e
        n_copies = len(copies)
    n_tok = sum(len(e["ids"]) for e in train_ex)
    n_unk = sum(sum(1 for i in e["input_ids"] if i == 1) for e in train_enc + valid_enc)
    log["data"] = {"train_sentences": len(train_ex), "valid_sentences": len(valid_ex),
                   "train_tokens_with_specials": n_tok, "truncated_train": tr_trunc, "truncated_valid": va_trunc,
                   "unk_tokens_train_valid": n_unk,
                   "max_len_train": max(len(e["input_ids"]) for e in train_enc), "augmented_copies": n_copies}
    log["stages"]["tokenize_s"] = round(time.time() - t0, 1)
    print(json.dumps(log["data"]), flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    log["params"] = n_params
    print(f"params {n_params}", flush=True)
    save_log()

    # 3. train ----------------------------------------------------------------------------------------
    rng, drop_rng = random.Random(a.seed), random.Random(a.seed + 2)
    epoch_steps = [len(batches(ex_e, a.batch_sents, a.batch_tokens, random.Random(0))) for ex_e in epoch_ex]
    steps_per_epoch, total = epoch_steps[0], sum(epoch_steps)
    warm = max(1, int(total * a.warmup))
    decay, no_decay = [], []
    for n, p_ in model.named_parameters():
        (no_decay if p_.dim() < 2 or "LayerNorm" in n else decay).append(p_)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    print(f"steps/epoch {steps_per_epoch}, total {total}, warmup {warm}", flush=True)
    log["steps_per_epoch"], log["total_steps"] = steps_per_epoch, total

    def export(m):
        # 4. export (after every improvement, so an interrupted run still leaves the best model)
        t0 = time.time()
        hf_dir = os.path.join(a.out, "hf")
        write_hf(hf_dir, a, cfg, m, spiece)
        os.makedirs(os.path.dirname(a.model_out) or ".", exist_ok=True)
        tmp = a.model_out + ".tmp.safetensors"
        run([a.cli, "convert", hf_dir, "-o", tmp, "--aggregation", a.aggregation], stdout=subprocess.DEVNULL)
        os.replace(tmp, a.model_out)
        log["stages"]["export_s"] = round(time.time() - t0, 1)
        log["model_bytes"] = os.path.getsize(a.model_out)

    best_f1, step, stop = -1.0, 0, False
    recent = []  # the last --average-last epochs' weights
    t_train = time.time()
    model.train()
    for epoch in range(1, a.epochs + 1):
        t_ep = time.time()
        loss_sum = n_sum = 0.0
        ex_e = epoch_ex[epoch - 1]
        for bi, idx in enumerate(batches(ex_e, a.batch_sents, a.batch_tokens, rng)):
            ids, mask, labels = collate(ex_e, idx, a.word_dropout, drop_rng)
            logits = model(ids, mask)
            loss = F.cross_entropy(logits.view(-1, len(LABELS)), labels.view(-1), ignore_index=-100,
                                   label_smoothing=a.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.item()
            n_sum += 1
            if step % 50 == 0:
                el = time.time() - t_ep
                print(f"epoch {epoch} step {bi + 1}/{steps_per_epoch} loss {loss_sum / n_sum:.4f} "
                      f"lr {sched.get_last_lr()[0]:.2e} {el / (bi + 1):.3f}s/step", flush=True)
            if a.max_steps and step >= a.max_steps:
                stop = True
                break
            if a.max_minutes and time.time() - t_train > a.max_minutes * 60:
                print("safety stop: --max-minutes reached", flush=True)
                log["safety_stop"] = {"epoch": epoch, "step": step}
                stop = True
                break
        ep_train_s = time.time() - t_ep
        t_ev = time.time()
        prec, rec, f1 = evaluate(model, valid_ex, a)
        rec_ = {"epoch": epoch, "steps": step, "train_loss": round(loss_sum / max(1, n_sum), 4),
                "dev_precision": round(prec, 4), "dev_recall": round(rec, 4), "dev_f1": round(f1, 4),
                "train_s": round(ep_train_s, 1), "eval_s": round(time.time() - t_ev, 1)}
        log["epochs"].append(rec_)
        print(json.dumps(rec_), flush=True)
        if f1 > best_f1:
            best_f1 = f1
            log["best"] = {"epoch": epoch, "dev_f1": round(f1, 4), "dev_precision": round(prec, 4),
                           "dev_recall": round(rec, 4)}
            export(model)
        if a.average_last > 0:
            recent = (recent + [{k: v.detach().clone() for k, v in model.state_dict().items()}])[-a.average_last:]
        log["stages"]["train_s"] = round(time.time() - t_train, 1)
        log["stages"]["total_s"] = round(time.time() - t_all, 1)
        save_log()
        if stop:
            break
    if a.average_last > 1 and len(recent) == a.average_last:
        model.load_state_dict({k: sum(sd[k] for sd in recent) / len(recent) if recent[0][k].is_floating_point()
                               else recent[-1][k] for k in recent[0]})
        prec, rec, f1 = evaluate(model, valid_ex, a)
        log["averaged"] = {"epochs": [log["epochs"][-a.average_last]["epoch"], log["epochs"][-1]["epoch"]],
                           "dev_f1": round(f1, 4), "dev_precision": round(prec, 4), "dev_recall": round(rec, 4)}
        print(json.dumps({"averaged": log["averaged"]}), flush=True)
        if f1 > best_f1:
            best_f1 = f1
            log["best"] = {"epoch": "average of the last %d" % a.average_last, "dev_f1": round(f1, 4),
                           "dev_precision": round(prec, 4), "dev_recall": round(rec, 4)}
            export(model)
        save_log()
    print(f"best dev F1 {best_f1:.4f} (epoch {log['best']['epoch']}); model {a.model_out} "
          f"{log['model_bytes']} bytes; total {time.time() - t_all:.0f}s", flush=True)


if __name__ == "__main__":
    main()
