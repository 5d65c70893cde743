"""Warm start of the hashtag generator from another run's checkpoint (`python -m export.train --init-from`).

Every parameter whose name and shape match is copied (a SEQ2SEQ bridge fills the post half of a
[post_final; conv_final] bridge); with `--identity-merge` the fresh merge layers start as [I, 0];
`--freeze-copied-epochs N` trains only the parameters that were not copied for the first N epochs.
"""

from __future__ import annotations

import torch

from export.model import HashtagGenerator

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
