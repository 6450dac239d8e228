#!/usr/bin/env python3
"""The PyTorch reference that `make bench-peers` measures Trellis against.

A BiLSTM-CRF (and BiLSTM + softmax) as `trellis bench` measures Trellis's: the default
sizes and training settings without character features. Word embeddings 100, LSTM hidden 100
per direction, batch 32, Adam 0.001, dropout 0.5 on the embeddings and on the LSTM outputs,
gradient clipping at global norm 5, singletons read as <unk> with probability 0.5, tokens
lowercased with digits mapped to 0, batches drawn as Trellis draws them (seeded shuffle,
length-sorted within pools of 20 batches, batch order shuffled).
The CRF is pytorch-crf's `CRF`; the gradient is the batch mean's, as Trellis's is. The BiLSTM is
two one-direction `nn.LSTM`s on the padded batch, the backward one reading each sentence
reversed within its length: the same model as one bidirectional `nn.LSTM` on packed sequences
(outputs within 1e-7), which never takes torch's oneDNN LSTM, where this trains 15-25% faster
on two threads (session 51's audit).

It times, like `trellis bench` (median of --repetitions runs, a fresh seeded model each):
  - one epoch of the pure training loop (batch tensors, forward, backward, clipping, Adam;
    no dev evaluation, no I/O), in training tokens per second;
  - tagging the training sentences (the ones `trellis bench` tags) sorted by length in
    batches of 32 and of 1: word lookup, forward pass, Viterbi, label strings; no I/O;
  - peak memory (max RSS) after training, before tagging.
Prints one JSON object on standard output. With --paired-round, only one training epoch and one
batch-32 tagging with the model it trained, once each (a round of compare.py's pairing).

    python Eval/peers/bilstm_crf.py --corpus DIR [--threads N] [--repetitions 3] [--seed 1]
        [--paired-round]
"""

import argparse
import json
import os
import random
import resource
import statistics
import time
import warnings

# The reference needs no NumPy, so the venv has none; torch warns about that on import.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402 (after the filter above)
from torch import nn  # noqa: E402
from torchcrf import CRF  # noqa: E402

EMBEDDING_SIZE = 100
HIDDEN_SIZE = 100
BATCH_SIZE = 32
LEARNING_RATE = 0.001
DROPOUT = 0.5
CLIP_NORM = 5.0
UNKNOWN_REPLACEMENT = 0.5
POOL_BATCHES = 20
PAD, UNK = 0, 1
# The settings above under the names `trellis bench --json` gives Trellis's defaults
# (`training_settings`); compare.py refuses to compare when the two differ.
TRAINING_SETTINGS = {
    "embedding_size": EMBEDDING_SIZE, "hidden_size": HIDDEN_SIZE, "batch_size": BATCH_SIZE,
    "learning_rate": LEARNING_RATE, "dropout": DROPOUT, "clip_norm": CLIP_NORM,
    "unknown_replacement": UNKNOWN_REPLACEMENT, "pool_batches": POOL_BATCHES,
}


def read_conll(path):
    """Sentences as (tokens, labels): token first column, label last; -DOCSTART- skipped."""
    sentences, tokens, labels = [], [], []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            fields = line.split()
            if fields:
                tokens.append(fields[0])
                labels.append(fields[-1])
                continue
            if tokens and tokens[0] != "-DOCSTART-":
                sentences.append((tokens, labels))
            tokens, labels = [], []
    if tokens and tokens[0] != "-DOCSTART-":
        sentences.append((tokens, labels))
    return sentences


def key(token):
    """Trellis's default vocabulary key: lowercased, ASCII digits mapped to 0."""
    return "".join("0" if "0" <= c <= "9" else c for c in token.lower())


class Vocabularies:
    """Words (<pad> = 0, <unk> = 1, then in order of first appearance), labels, word counts."""

    def __init__(self, sentences):
        self.words = {"<pad>": PAD, "<unk>": UNK}
        self.labels = {}
        self.counts = [0, 0]
        for tokens, labels in sentences:
            for token, label in zip(tokens, labels):
                word = self.words.setdefault(key(token), len(self.words))
                if word == len(self.counts):
                    self.counts.append(0)
                self.counts[word] += 1
                self.labels.setdefault(label, len(self.labels))
        self.label_strings = list(self.labels)

    def word_ids(self, tokens):
        return [self.words.get(key(token), UNK) for token in tokens]


class Tagger(nn.Module):
    """Embedding (V, 100) -> dropout -> BiLSTM 100 per direction -> dropout -> linear (L, 200)
    -> CRF over L labels, or per-token softmax when `crf` is False."""

    def __init__(self, vocabulary_size, label_count, crf):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, EMBEDDING_SIZE, padding_idx=PAD)
        self.forward_lstm = nn.LSTM(EMBEDDING_SIZE, HIDDEN_SIZE, batch_first=True)
        self.backward_lstm = nn.LSTM(EMBEDDING_SIZE, HIDDEN_SIZE, batch_first=True)
        self.dropout = nn.Dropout(DROPOUT)
        self.output = nn.Linear(2 * HIDDEN_SIZE, label_count)
        self.crf = CRF(label_count, batch_first=True) if crf else None

    def emissions(self, words, lengths):
        """words (B, T) padded ids, lengths (B) on the CPU -> emission scores (B, T, L)."""
        x = self.dropout(self.embedding(words))
        batch, steps = words.shape
        t = torch.arange(steps)[None, :]
        # Position t of a sentence of n tokens read backwards: n - 1 - t within it, t past it.
        reverse = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)[:, :, None]
        forward = self.forward_lstm(x)[0]
        backward = self.backward_lstm(torch.gather(x, 1, reverse.expand(batch, steps, x.shape[2])))[0]
        backward = torch.gather(backward, 1, reverse.expand(batch, steps, HIDDEN_SIZE))
        return self.output(self.dropout(torch.cat([forward, backward], 2)))

    def loss(self, words, lengths, gold, mask):
        """The batch mean of the sentences' CRF negative log-likelihoods, or of their summed
        token cross-entropies."""
        emissions = self.emissions(words, lengths)
        if self.crf is not None:
            return -self.crf(emissions, gold, mask=mask, reduction="sum") / len(lengths)
        return nn.functional.cross_entropy(emissions[mask], gold[mask], reduction="sum") / len(lengths)

    def decode(self, words, lengths, mask):
        """Best label-id sequence of each sentence (Viterbi; argmax for softmax)."""
        emissions = self.emissions(words, lengths)
        if self.crf is not None:
            return self.crf.decode(emissions, mask=mask)
        best = emissions.argmax(-1)
        return [best[b, :n].tolist() for b, n in enumerate(lengths.tolist())]


def padded(sequences):
    """Lists of ids -> (B, T) LongTensor padded with 0, lengths (B), mask (B, T)."""
    lengths = torch.tensor([len(s) for s in sequences])
    batch = torch.zeros(len(sequences), int(lengths.max()), dtype=torch.long)
    for b, sequence in enumerate(sequences):
        batch[b, : len(sequence)] = torch.tensor(sequence)
    mask = torch.arange(batch.shape[1])[None, :] < lengths[:, None]
    return batch, lengths, mask


def batches(count, lengths, rng):
    """Trellis's epoch order: shuffle, sort by length within pools of 20 batches, shuffle."""
    order = list(range(count))
    rng.shuffle(order)
    result = []
    pool = BATCH_SIZE * POOL_BATCHES
    for start in range(0, count, pool):
        ordered = sorted(order[start : start + pool], key=lambda i: (lengths[i], i))
        result += [ordered[k : k + BATCH_SIZE] for k in range(0, len(ordered), BATCH_SIZE)]
    rng.shuffle(result)
    return result


def train_epoch(sentences, vocabularies, crf, seed):
    """A fresh seeded model trained for one epoch; returns (model, tokens per second)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = Tagger(len(vocabularies.words), len(vocabularies.labels), crf)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    examples = [
        (vocabularies.word_ids(tokens), [vocabularies.labels[label] for label in labels])
        for tokens, labels in sentences
    ]
    singleton = [count == 1 for count in vocabularies.counts]
    model.train()
    tokens = 0
    started = time.perf_counter()
    for indices in batches(len(examples), [len(e[0]) for e in examples], rng):
        # Word dropout: a singleton is read as <unk> with probability 0.5, so <unk> is trained.
        words = [
            [UNK if singleton[w] and rng.random() < UNKNOWN_REPLACEMENT else w for w in words]
            for words in (examples[i][0] for i in indices)
        ]
        words, lengths, mask = padded(words)
        gold = padded([examples[i][1] for i in indices])[0]
        optimizer.zero_grad()
        loss = model.loss(words, lengths, gold, mask)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimizer.step()
        tokens += int(lengths.sum())
    return model, tokens / (time.perf_counter() - started)


def tag(model, vocabularies, sentences, batch_size):
    """Label strings of every sentence, in input order, decoded in length-sorted batches."""
    order = sorted(range(len(sentences)), key=lambda i: (len(sentences[i]), i))
    result = [None] * len(sentences)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            words, lengths, mask = padded([vocabularies.word_ids(sentences[i]) for i in indices])
            for i, path in zip(indices, model.decode(words, lengths, mask)):
                result[i] = [vocabularies.label_strings[label] for label in path]
    return result


def torch_blas():
    """The BLAS this torch build calls, from its build configuration (e.g. "mkl")."""
    for field in torch.__config__.show().replace(",", " ").split():
        if field.startswith("BLAS_INFO="):
            return field.partition("=")[2]
    return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help="directory with train.conll")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="torch intra-op threads (default: this machine's cores)")
    parser.add_argument("--repetitions", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--paired-round", action="store_true",
                        help="one BiLSTM-CRF training epoch and one batch-32 tagging of the "
                             "training sentences with the model it trained: their tokens/s only "
                             "(compare.py's paired rounds)")
    parser.add_argument("--tag-threads", type=int,
                        help="with --paired-round, the threads its tagging runs on (default: "
                             "--threads): the count the peer tags fastest on, which need not be "
                             "the one it trains fastest on")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    train = read_conll(os.path.join(args.corpus, "train.conll"))
    vocabularies = Vocabularies(train)
    sentences = [tokens for tokens, _ in train]
    token_count = sum(len(tokens) for tokens in sentences)
    if args.paired_round:
        model, rate = train_epoch(train, vocabularies, True, args.seed)
        torch.set_num_threads(args.tag_threads or args.threads)
        started = time.perf_counter()
        tag(model, vocabularies, sentences, 32)
        print(json.dumps({"threads": args.threads, "tag_threads": torch.get_num_threads(),
                          "training_tokens_per_second": {"bilstm+crf": rate},
                          "tagging_tokens_per_second_batch32":
                              token_count / (time.perf_counter() - started)}))
        return
    figures = {
        "corpus": args.corpus, "seed": args.seed, "repetitions": args.repetitions,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "torch_blas": torch_blas(),
        "training_tokens": sum(len(tokens) for tokens, _ in train),
        "training_tokens_per_second": {},
        "training_settings": TRAINING_SETTINGS,
    }
    model = None
    for name, crf in (("bilstm+crf", True), ("bilstm+softmax", False)):
        rates = []
        for _ in range(args.repetitions):
            trained, rate = train_epoch(train, vocabularies, crf, args.seed)
            rates.append(rate)
            if crf:
                model = trained
        figures["training_tokens_per_second"][name] = statistics.median(rates)
    # ru_maxrss is in kilobytes on Linux.
    figures["peak_memory_megabytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    outputs = {}
    for batch_size in (1, 32):
        rates = []
        for _ in range(args.repetitions):
            started = time.perf_counter()
            outputs[batch_size] = tag(model, vocabularies, sentences, batch_size)
            rates.append(token_count / (time.perf_counter() - started))
        figures[f"tagging_tokens_per_second_batch{batch_size}"] = statistics.median(rates)
    figures["tagging_tokens"] = token_count
    figures["batch1_equals_batch32"] = outputs[1] == outputs[32]
    # After one epoch the peer must already tag well above the all-"O" baseline: a check that
    # the speed is that of a working tagger.
    gold = [label for _, labels in train for label in labels]
    predicted = [label for labels in outputs[32] for label in labels]
    figures["token_accuracy_on_training_sentences"] = (
        sum(g == p for g, p in zip(gold, predicted)) / len(gold))
    figures["all_o_baseline_accuracy"] = gold.count("O") / len(gold)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
