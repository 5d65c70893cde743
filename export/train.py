"""Train the hashtag generator (export/model.py) on canonical JSONL, as the paper does.

    python -m export.train --train runs/corpus/zh_train.jsonl --dev runs/corpus/zh_dev.jsonl --out runs/zh-full
    tagsmith train --train ... --dev ... --out ... [--variant full] [--resume]

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
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from export.data import (Tokenized, Vocab, batches, build_vocabs, load_records, make_examples, preprocess_version,
                         tokenize_records)
from export.model import BOS, EOS, SRC_UNK, UNK, VARIANTS, HashtagGenerator, ModelConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tagsmith train", description=__doc__.split("\n\n")[0])
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


def cli(args: argparse.Namespace) -> int:
    """`tagsmith train ...` entry point: the CLI passes the remaining words as args.train_args."""
    return main(list(args.train_args))


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


# -- warm start -----------------------------------------------------------------------------------
SHAPE_FIELDS = ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden", "enc_layers", "tie_output")


MERGE_LAYERS = ("merge_post", "merge_conv")


def warm_start(model: HashtagGenerator, init: dict, identity_merge: bool = False) -> dict[str, list[str]]:
    """Copy a checkpoint's best weights into `model` wherever a parameter's name and shape match.

    The one expected shape difference is the bridge of a SEQ2SEQ checkpoint (d -> d) going into a model
    whose bridge reads [post_final; conv_final] (2d -> d): its post half gets the SEQ2SEQ bridge and
    its conv half starts at zero, so the decoder's first state is exactly SEQ2SEQ's until training
    moves it. Any other mismatch is refused.

    identity_merge: merge layers the checkpoint lacks start as W = [I, 0] (identity on the encoder
    state, zero on the attended half), b = 0, so v = tanh(h): the copied decoder first attends over
    (squashed) encoder states, as it was trained to, instead of over random projections.
    Returns the parameter names per outcome."""
    source = init["config"]
    wrong = [f"{f} {source[f]} != {getattr(model.config, f)}" for f in SHAPE_FIELDS
             if source.get(f) != getattr(model.config, f)]
    if wrong:
        raise ValueError("--init-from checkpoint does not fit this model: " + "; ".join(wrong))
    weights = init.get("best_model") or init["model"]
    target = model.state_dict()
    done: dict[str, list[str]] = {"copied": [], "bridge post half": [], "fresh": [],
                                  "unused": [k for k in weights if k not in target]}
    for name, value in target.items():
        if name not in weights:
            done["fresh"].append(name)
            continue
        w = weights[name]
        if w.shape == value.shape:
            target[name] = w.clone()
            done["copied"].append(name)
        elif name == "bridge.weight" and w.dim() == 2 and value.shape == (w.shape[0], 2 * w.shape[1]):
            target[name] = torch.cat([w, torch.zeros_like(w)], dim=1)  # [d, 2d]: post half, conv half
            done["bridge post half"].append(name)
        else:
            raise ValueError(f"--init-from: {name} is {tuple(w.shape)} in the checkpoint, {tuple(value.shape)} here")
    if identity_merge:
        merge = [n for n in done["fresh"] if n.split(".")[0] in MERGE_LAYERS]
        if not merge:
            raise ValueError("--identity-merge: this model has no fresh merge layers (variant "
                             f"{model.config.variant!r}, checkpoint {init['config']['variant']!r})")
        for name in merge:
            value = target[name]
            if name.endswith("weight"):  # [d, 2d] reading [h; r]
                d = value.shape[0]
                target[name] = torch.cat([torch.eye(d), torch.zeros(d, value.shape[1] - d)], dim=1)
            else:
                target[name] = torch.zeros_like(value)
        done["fresh"] = [n for n in done["fresh"] if n not in merge]
        done["identity merge"] = merge
    model.load_state_dict(target)
    return done


def freeze_copied(model: HashtagGenerator, done: dict[str, list[str]], frozen: bool) -> list:
    """Freeze (or thaw) the parameters a warm start copied; the bridge's copied post half is held by a
    gradient mask so its fresh conv half still trains. Returns the hook handles to remove on thawing."""
    params = dict(model.named_parameters())
    for name in done.get("copied", []):
        params[name].requires_grad_(not frozen)
    hooks = []
    if frozen:
        for name in done.get("bridge post half", []):  # [d, 2d]: zero the post half's gradient
            weight = params[name]
            keep = torch.zeros_like(weight)
            keep[:, weight.shape[1] // 2:] = 1
            hooks.append(weight.register_hook(lambda grad, keep=keep: grad * keep))
    return hooks


def describe_warm_start(done: dict[str, list[str]]) -> str:
    """One line per outcome, parameters grouped by module: 'copied (23): src_embedding, post_encoder(16), ...'."""
    lines = []
    for outcome, names in done.items():
        modules: dict[str, int] = {}
        for n in names:
            modules[n.split(".")[0]] = modules.get(n.split(".")[0], 0) + 1
        groups = ", ".join(m if k == 1 else f"{m}({k})" for m, k in modules.items()) or "-"
        lines.append(f"  {outcome} ({len(names)}): {groups}")
    return "\n".join(lines)


# -- evaluation -----------------------------------------------------------------------------------
@torch.no_grad()
def dev_loss(model: HashtagGenerator, examples, batch_size: int) -> float:
    """Mean NLL per target token over the dev (post, hashtag) pairs."""
    model.eval()
    total, tokens = 0.0, 0
    for b in batches(examples, batch_size):
        n = int((b["tgt_out"] != 0).sum())
        total += float(model.loss(b["post"], b["post_mask"], b["conv"], b["conv_mask"], b["tgt_in"], b["tgt_out"])) * n
        tokens += n
    return total / max(tokens, 1)


def make_step_fn(model: HashtagGenerator, memory: torch.Tensor, memory_mask: torch.Tensor):
    """Numpy step function for inference.runtime.beam over the torch decoder; memory gathered per element."""
    cache: dict = {}

    def step(tokens: np.ndarray, element_rows: np.ndarray, state: tuple) -> tuple[np.ndarray, tuple]:
        key = element_rows.tobytes()
        if cache.get("key") != key:  # elements rarely retire between steps: gather the memory once
            rows = torch.from_numpy(np.ascontiguousarray(element_rows))
            cache.update(key=key, memory=memory[rows], mask=memory_mask[rows])
        with torch.no_grad():
            log_probs, hidden = model.decode_step(torch.from_numpy(np.ascontiguousarray(tokens)),
                                                  torch.from_numpy(np.ascontiguousarray(state[0])),
                                                  cache["memory"], cache["mask"])
        return log_probs.numpy(), (hidden.numpy(),)

    return step


@torch.no_grad()
def predict(model: HashtagGenerator, data: list[Tokenized], src: Vocab, tgt: Vocab, beam_size: int = 20,
            n_best: int = 10, batch_size: int = 16, progress: bool = False) -> list[list[str]]:
    """Beam search for every post -> ranked distinct hashtags, each its words joined by spaces."""
    from inference.runtime.beam import BeamSearch

    c = model.config
    model.eval()
    search = BeamSearch(beam_size=beam_size, max_len=c.max_tag_len, bos_id=BOS, eos_id=EOS, n_best=n_best, state_axes=(1,))
    examples = make_examples(data, src, tgt, c.max_post_len, c.max_conv_len, c.max_tag_len, per_tag=False)
    out: list[list[str]] = [[] for _ in data]
    for b in tqdm(list(batches(examples, batch_size)), desc="beam search", disable=not progress, mininterval=5):
        memory, memory_mask, hidden0 = model.encode(b["post"], b["post_mask"], b["conv"], b["conv_mask"])
        hyps = search.run(make_step_fn(model, memory, memory_mask), init_state=(hidden0.numpy(),),
                          batch_size=len(b["index"]))
        for i, h in zip(b["index"].tolist(), hyps):
            out[i] = [" ".join(tgt.decode(x.tokens)) for x in h]
    return out


def score(gold: list[list[str]], pred: list[list[str]], lang: str) -> dict:
    from inference.evaluation.metrics import evaluate

    return evaluate(gold, pred, lang)


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


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    torch.set_num_threads(opts.threads)
    random.seed(opts.seed)
    torch.manual_seed(opts.seed)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"

    # threads beyond --max-conv-len are never read (a resumed run keeps its checkpoint's limit)
    conv_cap = ckpt_conv_len(ckpt_path) if opts.resume else opts.max_conv_len
    train_data = [t for t in tokenize_records(load_records(opts.train), max_conv_len=conv_cap) if t.tags]
    dev_data = [t for t in tokenize_records(load_records(opts.dev), max_conv_len=conv_cap) if t.tags]
    lang = (train_data[0].record.get("lang") if train_data else None) or "en"

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

    model = HashtagGenerator(config)
    warm = ckpt.get("warm_start") if ckpt is not None else None  # parameter names per warm-start outcome
    if init is not None:
        warm = warm_start(model, init, identity_merge=opts.identity_merge)
        print(f"warm start from {opts.init_from} ({init['config']['variant']}, epoch {init.get('epoch')}):\n"
              + describe_warm_start(warm), file=sys.stderr)
        del init
    freeze_epochs = ckpt.get("freeze_copied_epochs", 0) if ckpt is not None else opts.freeze_copied_epochs
    if freeze_epochs and not warm:
        raise ValueError("--freeze-copied-epochs: this run was not warm-started, nothing was copied")
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr)
    state = {"epoch": 0, "step": 0, "best_dev_loss": math.inf, "bad_epochs": 0, "lr": opts.lr, "history": [],
             "train_seconds": 0.0}
    best_weights = None
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        best_weights = ckpt.get("best_model")
        state.update({k: ckpt[k] for k in state if k in ckpt})
        if "rng" in ckpt:
            random.setstate(ckpt["rng"])

    make = dict(max_post_len=config.max_post_len, max_conv_len=config.max_conv_len, max_tag_len=config.max_tag_len)
    train_examples = make_examples(train_data, src, tgt, **make)
    dev_examples = make_examples(dev_data, src, tgt, **make)
    n_train_posts = len(train_data)
    del train_data  # only the id lists are needed from here on (keeps big corpora small in memory)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_train_posts} train posts -> {len(train_examples)} (post, hashtag) examples; {len(dev_data)} dev posts; "
          f"vocab src {len(src)} tgt {len(tgt)}; {config.variant} model, {n_params / 1e6:.2f}M parameters",
          file=sys.stderr)

    init_from = ckpt.get("init_from") if ckpt is not None else opts.init_from

    def checkpoint() -> None:
        save_checkpoint(ckpt_path, {
            "config": asdict(config), "src_vocab": src.itos, "tgt_vocab": tgt.itos,
            "preprocess_version": preprocess_version(), "model": model.state_dict(), "best_model": best_weights,
            "optimizer": optimizer.state_dict(), "rng": random.getstate(), "init_from": init_from,
            "warm_start": warm, "freeze_copied_epochs": freeze_epochs, **state})

    started = time.time() - state["train_seconds"]
    out_of_time = False
    freeze_hooks: list = []
    while state["epoch"] < opts.epochs and not out_of_time:
        if state["bad_epochs"] >= opts.patience or state["lr"] < 1e-6:
            break
        epoch = state["epoch"] + 1
        frozen = epoch <= freeze_epochs
        if frozen and not freeze_hooks:
            freeze_hooks = freeze_copied(model, warm, frozen=True)
        elif freeze_epochs and epoch == freeze_epochs + 1:  # thaw: everything trains from here on
            for hook in freeze_hooks:
                hook.remove()
            freeze_hooks = freeze_copied(model, warm, frozen=False)
            # the bridge's Adam moments are zero in its held post half; without bias correction they
            # would take several-times-lr steps there for hundreds of updates: restart them
            for name in warm.get("bridge post half", []):
                optimizer.state.pop(dict(model.named_parameters())[name], None)
        if frozen:
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            print(f"epoch {epoch}: copied parameters frozen, {trainable / 1e6:.2f}M trainable", file=sys.stderr)
        for group in optimizer.param_groups:
            group["lr"] = state["lr"]
        model.train()
        total, tokens = 0.0, 0
        train_batches = list(batches(train_examples, opts.batch_size, shuffle=True, rng=random))
        bar = tqdm(train_batches, desc=f"epoch {epoch}", disable=opts.quiet, mininterval=5, file=sys.stderr)
        for b in bar:
            loss = model.loss(b["post"], b["post_mask"], b["conv"], b["conv_mask"], b["tgt_in"], b["tgt_out"])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip)
            optimizer.step()
            n = int((b["tgt_out"] != 0).sum())
            total, tokens = total + loss.item() * n, tokens + n
            state["step"] += 1
            bar.set_postfix(loss=f"{total / tokens:.3f}", refresh=False)
            if (opts.max_steps and state["step"] >= opts.max_steps) or (
                    opts.max_minutes and time.time() - started > opts.max_minutes * 60):
                out_of_time = True
                break
        bar.close()
        loss_dev = dev_loss(model, dev_examples, opts.batch_size)
        state["epoch"] = epoch
        state["train_seconds"] = time.time() - started
        state["history"].append({"epoch": epoch, "train_loss": total / max(tokens, 1), "dev_loss": loss_dev,
                                 "lr": state["lr"], "steps": state["step"], "seconds": round(state["train_seconds"], 1)})
        if record_dev_loss(state, loss_dev, frozen):
            best_weights = {k: v.clone() for k, v in model.state_dict().items()}
        print(f"epoch {epoch}: train {total / max(tokens, 1):.4f} dev {loss_dev:.4f} (best {state['best_dev_loss']:.4f}) "
              f"lr {state['lr']:.2e} {state['train_seconds']:.0f}s", file=sys.stderr)
        checkpoint()
        plot_losses(state["history"], out / "loss.png")

    if opts.no_eval or not dev_data:
        return 0
    if best_weights is not None:
        model.load_state_dict(best_weights)
    eval_data = dev_data[: opts.eval_limit] if opts.eval_limit else dev_data
    t0 = time.time()
    pred = predict(model, eval_data, src, tgt, opts.beam_size, opts.n_best, progress=not opts.quiet)
    metrics = score([t.record["hashtags"] for t in eval_data], pred, lang)
    with open(out / "dev_pred.txt", "w", encoding="utf-8") as f:
        f.writelines(";".join(p) + "\n" for p in pred)
    metrics_doc = {**metrics, "run": {
        "variant": config.variant, "lang": lang, "epochs": state["epoch"], "steps": state["step"],
        "best_dev_loss": state["best_dev_loss"], "train_posts": n_train_posts, "train_examples": len(train_examples),
        "dev_posts_scored": len(eval_data), "src_vocab": len(src), "tgt_vocab": len(tgt), "parameters": n_params,
        "config": asdict(config), "beam_size": opts.beam_size, "init_from": init_from,
        "identity_merge": bool(warm and warm.get("identity merge")), "freeze_copied_epochs": freeze_epochs,
        "train_seconds": round(state["train_seconds"], 1),
        "beam_seconds": round(time.time() - t0, 1), "command": "python -m export.train " + " ".join(argv or sys.argv[1:])}}
    (out / "metrics.json").write_text(json.dumps(metrics_doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(metrics, ensure_ascii=False), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
