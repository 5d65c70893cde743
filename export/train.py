"""Train the hashtag generator (export/model.py) on canonical JSONL, as the paper does.

    python -m export.train --train runs/corpus/zh_train.jsonl --dev runs/corpus/zh_dev.jsonl --out runs/zh-full
    tagsmith-train --train ... --dev ... --out ... [--variant full] [--resume]

Adam 1e-3, gradient-norm clip 1, dropout 0.1, batch 64; the learning rate halves whenever the dev loss
does not improve and training stops after `--patience` such epochs (or when it falls below 1e-6).
`--init-from CKPT` warm-starts a fresh run from another run's best weights (e.g. the full model from a
trained SEQ2SEQ post-only run): every parameter whose name and shape match is copied, the rest start
fresh, and the run uses CKPT's vocabularies (the copied embedding and output rows are indexed by them).
With `--identity-merge` the fresh merge layers start as W = [I, 0], b = 0, so the memory starts as
tanh(h) of the encoders, close to the states the copied decoder was trained to attend over;
`--freeze-copied-epochs N` trains only the parameters that were not copied for the first N epochs.

Writes into --out:
    ckpt.pt       every epoch: config, vocabularies, preprocess version, latest and best weights,
                  optimizer, epoch, best dev loss, history (`--resume` continues from it)
    loss.png      train/dev loss per epoch
    metrics.json  beam-search metrics (F1@1, F1@5, MAP@5, RG-1, RG-SU4) of the best weights on dev
    dev_pred.txt  the dev predictions, one line per dev record, tags joined by ';'
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from export.data import (Tokenized, Vocab, batches, build_vocabs, load_records, make_examples, preprocess_version,
                         tokenize_records)
from export.generator_eval import dev_loss, predict, score
from export.model import SRC_UNK, UNK, VARIANTS, HashtagGenerator, ModelConfig
from export.warm_start import describe_warm_start, freeze_copied, warm_start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tagsmith-train", description=__doc__.split("\n\n")[0])
    p.add_argument("--train", required=True, help="canonical JSONL (or a Weibo prefix such as DIR/valid)")
    p.add_argument("--dev", required=True, help="canonical JSONL for the dev loss and metrics")
    p.add_argument("--out", required=True, help="run folder (ckpt.pt, loss.png, metrics.json)")
    p.add_argument("--variant", default="full", choices=VARIANTS)
    p.add_argument("--emb-dim", type=int, default=200)
    p.add_argument("--hidden", type=int, default=300)
    p.add_argument("--enc-layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--tie-output", action="store_true", help="factor the output layer through the target embeddings (smaller model)")
    p.add_argument("--max-post-len", type=int, default=64)
    p.add_argument("--max-conv-len", type=int, default=200)
    p.add_argument("--max-tag-len", type=int, default=10)
    p.add_argument("--min-freq", type=int, default=2, help="source words seen fewer times become <unk>")
    p.add_argument("--src-vocab", type=int, default=50000, help="source vocabulary cap (with specials)")
    p.add_argument("--tgt-vocab", type=int, default=8000, help="target (hashtag word) vocabulary cap")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many updates in all (0: no cap)")
    p.add_argument("--max-minutes", type=float, default=0, help="stop after this much training time (0: no cap)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--patience", type=int, default=3, help="epochs without dev-loss improvement before stopping")
    p.add_argument("--beam-size", type=int, default=20)
    p.add_argument("--n-best", type=int, default=10)
    p.add_argument("--eval-limit", type=int, default=0, help="beam-search only the first N dev posts (0: all)")
    p.add_argument("--no-eval", action="store_true", help="skip the final beam-search evaluation")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt")
    p.add_argument("--init-from", metavar="CKPT", help="warm start a fresh run: copy CKPT's best weights wherever a "
                   "parameter's name and shape match (its vocabularies and dims must fit this run)")
    p.add_argument("--identity-merge", action="store_true", help="with --init-from: the fresh merge layers start "
                   "as [I, 0] with bias 0, so the memory starts as tanh(encoder states), close to the source's memory")
    p.add_argument("--freeze-copied-epochs", type=int, default=0, metavar="N", help="with --init-from: for the first "
                   "N epochs train only the parameters that were not copied (those epochs neither halve the learning "
                   "rate nor count toward --patience)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


# -- checkpoints ----------------------------------------------------------------------------------
def save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, best: bool = True):
    """ckpt.pt -> (model in eval mode, src Vocab, tgt Vocab, the checkpoint dict).
    best: the weights with the lowest dev loss (else the latest)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = HashtagGenerator(ModelConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["best_model"] if best and ckpt.get("best_model") else ckpt["model"])
    model.eval()
    return model, Vocab(ckpt["src_vocab"], SRC_UNK), Vocab(ckpt["tgt_vocab"], UNK), ckpt


def ckpt_conv_len(path: Path) -> int | None:
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)["config"]["max_conv_len"]



# -- plotting -------------------------------------------------------------------------------------
def plot_losses(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train")
    ax.plot(epochs, [h["dev_loss"] for h in history], marker="o", label="dev")
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL per target token")
    ax.set_title(path.parent.name)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- training -------------------------------------------------------------------------------------
def record_dev_loss(state: dict, loss_dev: float, frozen: bool = False) -> bool:
    """Early-stopping bookkeeping after an epoch; True when loss_dev is the best so far. On a plateau the
    learning rate halves (the paper's decay of 0.5) and the epoch counts toward --patience, unless the
    copied parameters were frozen in it: those epochs keep the rate and the count, so the whole model
    gets the full rate and patience once it all trains (a frozen epoch can still set the best weights)."""
    if loss_dev < state["best_dev_loss"]:
        state["best_dev_loss"], state["bad_epochs"] = loss_dev, 0
        return True
    if not frozen:
        state["bad_epochs"] += 1
        state["lr"] *= 0.5
    return False


@dataclass
class Run:
    """What a run carries from epoch to epoch and keeps in ckpt.pt."""
    config: ModelConfig
    src: Vocab
    tgt: Vocab
    model: HashtagGenerator
    optimizer: torch.optim.Optimizer
    state: dict  # epoch, step, best_dev_loss, bad_epochs, lr, history, train_seconds
    warm: dict | None  # parameter names per warm-start outcome (None: not warm-started)
    freeze_epochs: int
    init_from: str | None
    best_weights: dict | None = None

    def save(self, path: Path) -> None:
        save_checkpoint(path, {
            "config": asdict(self.config), "src_vocab": self.src.itos, "tgt_vocab": self.tgt.itos,
            "preprocess_version": preprocess_version(), "model": self.model.state_dict(), "best_model": self.best_weights,
            "optimizer": self.optimizer.state_dict(), "rng": random.getstate(), "init_from": self.init_from,
            "warm_start": self.warm, "freeze_copied_epochs": self.freeze_epochs, **self.state})


def load_data(opts: argparse.Namespace, ckpt_path: Path) -> tuple[list[Tokenized], list[Tokenized], str]:
    """-> (train posts, dev posts, language), posts without hashtags left out."""
    # threads beyond --max-conv-len are never read (a resumed run keeps its checkpoint's limit)
    conv_cap = ckpt_conv_len(ckpt_path) if opts.resume else opts.max_conv_len
    train_data = [t for t in tokenize_records(load_records(opts.train), max_conv_len=conv_cap) if t.tags]
    dev_data = [t for t in tokenize_records(load_records(opts.dev), max_conv_len=conv_cap) if t.tags]
    lang = (train_data[0].record.get("lang") if train_data else None) or "en"
    return train_data, dev_data, lang


def fresh_config(opts: argparse.Namespace, train_data: list[Tokenized], init: dict | None) -> tuple[Vocab, Vocab, ModelConfig]:
    """A new run's vocabularies (from --train, or --init-from's) and model config."""
    src, tgt = build_vocabs(train_data, opts.min_freq, opts.src_vocab, 1, opts.tgt_vocab)
    if init is not None:  # the copied embedding and output rows are indexed by the checkpoint's vocabularies
        if init.get("preprocess_version") != preprocess_version():
            raise ValueError(f"--init-from {opts.init_from}: preprocess version {init.get('preprocess_version')} "
                             f"!= {preprocess_version()}; its vocabularies do not describe this text")
        same = src.itos == init["src_vocab"] and tgt.itos == init["tgt_vocab"]
        print(f"vocabularies from {opts.init_from} (src {len(init['src_vocab'])}, tgt {len(init['tgt_vocab'])}); "
              f"built from --train they would be {'the same' if same else f'src {len(src)}, tgt {len(tgt)}'}",
              file=sys.stderr)
        src, tgt = Vocab(init["src_vocab"], SRC_UNK), Vocab(init["tgt_vocab"], UNK)
    config = ModelConfig(len(src), len(tgt), emb_dim=opts.emb_dim, hidden=opts.hidden, enc_layers=opts.enc_layers,
                         dropout=opts.dropout, variant=opts.variant, max_post_len=opts.max_post_len,
                         max_conv_len=opts.max_conv_len, max_tag_len=opts.max_tag_len, tie_output=opts.tie_output)
    return src, tgt, config


def start_run(opts: argparse.Namespace, train_data: list[Tokenized], ckpt_path: Path) -> Run:
    """The run in ckpt.pt (--resume), else a fresh one (warm-started with --init-from)."""
    resuming = opts.resume and ckpt_path.exists()
    if (opts.identity_merge or opts.freeze_copied_epochs) and not (opts.init_from or resuming):
        raise ValueError("--identity-merge and --freeze-copied-epochs need --init-from")
    init = torch.load(opts.init_from, map_location="cpu", weights_only=False) if opts.init_from and not resuming else None
    if resuming:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        config = ModelConfig(**ckpt["config"])
        src, tgt = Vocab(ckpt["src_vocab"], SRC_UNK), Vocab(ckpt["tgt_vocab"], UNK)
        print(f"resuming {ckpt_path} after epoch {ckpt['epoch']}", file=sys.stderr)
    else:
        ckpt = None
        src, tgt, config = fresh_config(opts, train_data, init)

    model = HashtagGenerator(config)
    warm = ckpt.get("warm_start") if ckpt is not None else None
    if init is not None:
        warm = warm_start(model, init, identity_merge=opts.identity_merge)
        print(f"warm start from {opts.init_from} ({init['config']['variant']}, epoch {init.get('epoch')}):\n"
              + describe_warm_start(warm), file=sys.stderr)
        del init
    freeze_epochs = ckpt.get("freeze_copied_epochs", 0) if ckpt is not None else opts.freeze_copied_epochs
    if freeze_epochs and not warm:
        raise ValueError("--freeze-copied-epochs: this run was not warm-started, nothing was copied")
    state = {"epoch": 0, "step": 0, "best_dev_loss": math.inf, "bad_epochs": 0, "lr": opts.lr, "history": [],
             "train_seconds": 0.0}
    run = Run(config, src, tgt, model, torch.optim.Adam(model.parameters(), lr=opts.lr), state, warm, freeze_epochs,
              ckpt.get("init_from") if ckpt is not None else opts.init_from)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        run.optimizer.load_state_dict(ckpt["optimizer"])
        run.best_weights = ckpt.get("best_model")
        state.update({k: ckpt[k] for k in state if k in ckpt})
        if "rng" in ckpt:
            random.setstate(ckpt["rng"])
    return run


def freeze_or_thaw(run: Run, epoch: int, hooks: list) -> list:
    """Before `epoch`: the copied parameters frozen for the first --freeze-copied-epochs, then thawed.
    Returns the freeze's gradient hooks."""
    frozen = epoch <= run.freeze_epochs
    if frozen and not hooks:
        hooks = freeze_copied(run.model, run.warm, frozen=True)
    elif run.freeze_epochs and epoch == run.freeze_epochs + 1:  # thaw: everything trains from here on
        for hook in hooks:
            hook.remove()
        hooks = freeze_copied(run.model, run.warm, frozen=False)
        # the bridge's Adam moments are zero in its held post half; without bias correction they
        # would take several-times-lr steps there for hundreds of updates: restart them
        for name in run.warm.get("bridge post half", []):
            run.optimizer.state.pop(dict(run.model.named_parameters())[name], None)
    if frozen:
        trainable = sum(p.numel() for p in run.model.parameters() if p.requires_grad)
        print(f"epoch {epoch}: copied parameters frozen, {trainable / 1e6:.2f}M trainable", file=sys.stderr)
    return hooks


def train_epoch(run: Run, opts: argparse.Namespace, train_examples, epoch: int, started: float) -> tuple[float, bool]:
    """One pass over the shuffled batches -> (train loss per target token, --max-steps or --max-minutes reached)."""
    model, state = run.model, run.state
    model.train()
    total, tokens = 0.0, 0
    train_batches = list(batches(train_examples, opts.batch_size, shuffle=True, rng=random))
    bar = tqdm(train_batches, desc=f"epoch {epoch}", disable=opts.quiet, mininterval=5, file=sys.stderr)
    out_of_time = False
    for b in bar:
        loss = model.loss(b["post"], b["post_mask"], b["conv"], b["conv_mask"], b["tgt_in"], b["tgt_out"])
        run.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip)
        run.optimizer.step()
        n = int((b["tgt_out"] != 0).sum())
        total, tokens = total + loss.item() * n, tokens + n
        state["step"] += 1
        bar.set_postfix(loss=f"{total / tokens:.3f}", refresh=False)
        if (opts.max_steps and state["step"] >= opts.max_steps) or (
                opts.max_minutes and time.time() - started > opts.max_minutes * 60):
            out_of_time = True
            break
    bar.close()
    return total / max(tokens, 1), out_of_time


def train_epochs(run: Run, opts: argparse.Namespace, train_examples, dev_examples, out: Path) -> None:
    """Epochs until --epochs, --patience, the learning-rate floor or the time/step cap; after each one the
    dev loss, the best weights, ckpt.pt and loss.png."""
    state = run.state
    started = time.time() - state["train_seconds"]
    out_of_time = False
    freeze_hooks: list = []
    while state["epoch"] < opts.epochs and not out_of_time:
        if state["bad_epochs"] >= opts.patience or state["lr"] < 1e-6:
            break
        epoch = state["epoch"] + 1
        freeze_hooks = freeze_or_thaw(run, epoch, freeze_hooks)
        for group in run.optimizer.param_groups:
            group["lr"] = state["lr"]
        train_loss, out_of_time = train_epoch(run, opts, train_examples, epoch, started)
        loss_dev = dev_loss(run.model, dev_examples, opts.batch_size)
        state["epoch"] = epoch
        state["train_seconds"] = time.time() - started
        state["history"].append({"epoch": epoch, "train_loss": train_loss, "dev_loss": loss_dev,
                                 "lr": state["lr"], "steps": state["step"], "seconds": round(state["train_seconds"], 1)})
        if record_dev_loss(state, loss_dev, epoch <= run.freeze_epochs):
            run.best_weights = {k: v.clone() for k, v in run.model.state_dict().items()}
        print(f"epoch {epoch}: train {train_loss:.4f} dev {loss_dev:.4f} (best {state['best_dev_loss']:.4f}) "
              f"lr {state['lr']:.2e} {state['train_seconds']:.0f}s", file=sys.stderr)
        run.save(out / "ckpt.pt")
        plot_losses(state["history"], out / "loss.png")


def write_dev_metrics(run: Run, opts: argparse.Namespace, dev_data: list[Tokenized], lang: str, out: Path,
                      sizes: dict, command: str) -> None:
    """Beam search of the best weights on dev -> dev_pred.txt and metrics.json (`sizes`: train_posts,
    train_examples, parameters)."""
    if run.best_weights is not None:
        run.model.load_state_dict(run.best_weights)
    eval_data = dev_data[: opts.eval_limit] if opts.eval_limit else dev_data
    t0 = time.time()
    pred = predict(run.model, eval_data, run.src, run.tgt, opts.beam_size, opts.n_best, progress=not opts.quiet)
    metrics = score([t.record["hashtags"] for t in eval_data], pred, lang)
    with open(out / "dev_pred.txt", "w", encoding="utf-8") as f:
        f.writelines(";".join(p) + "\n" for p in pred)
    state, warm = run.state, run.warm
    metrics_doc = {**metrics, "run": {
        "variant": run.config.variant, "lang": lang, "epochs": state["epoch"], "steps": state["step"],
        "best_dev_loss": state["best_dev_loss"], "train_posts": sizes["train_posts"], "train_examples": sizes["train_examples"],
        "dev_posts_scored": len(eval_data), "src_vocab": len(run.src), "tgt_vocab": len(run.tgt), "parameters": sizes["parameters"],
        "config": asdict(run.config), "beam_size": opts.beam_size, "init_from": run.init_from,
        "identity_merge": bool(warm and warm.get("identity merge")), "freeze_copied_epochs": run.freeze_epochs,
        "train_seconds": round(state["train_seconds"], 1),
        "beam_seconds": round(time.time() - t0, 1), "command": command}}
    (out / "metrics.json").write_text(json.dumps(metrics_doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(metrics, ensure_ascii=False), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    torch.set_num_threads(opts.threads)
    random.seed(opts.seed)
    torch.manual_seed(opts.seed)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)

    train_data, dev_data, lang = load_data(opts, out / "ckpt.pt")
    run = start_run(opts, train_data, out / "ckpt.pt")
    config, src, tgt = run.config, run.src, run.tgt
    make = dict(max_post_len=config.max_post_len, max_conv_len=config.max_conv_len, max_tag_len=config.max_tag_len)
    train_examples = make_examples(train_data, src, tgt, **make)
    dev_examples = make_examples(dev_data, src, tgt, **make)
    sizes = {"train_posts": len(train_data), "train_examples": len(train_examples),
             "parameters": sum(p.numel() for p in run.model.parameters())}
    del train_data  # only the id lists are needed from here on (keeps big corpora small in memory)
    print(f"{sizes['train_posts']} train posts -> {len(train_examples)} (post, hashtag) examples; {len(dev_data)} dev posts; "
          f"vocab src {len(src)} tgt {len(tgt)}; {config.variant} model, {sizes['parameters'] / 1e6:.2f}M parameters",
          file=sys.stderr)

    train_epochs(run, opts, train_examples, dev_examples, out)
    if opts.no_eval or not dev_data:
        return 0
    write_dev_metrics(run, opts, dev_data, lang, out, sizes, "python -m export.train " + " ".join(argv or sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
