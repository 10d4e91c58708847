"""The PyTorch side of merge-train's PyTorch interop, an independent reference for its tests.

    python3 scripts/torchFixtures.py                   # writes test/fixtures/torch/: state dicts, inputs, PyTorch's logits
    python3 scripts/torchFixtures.py --check-exports D  # loads merge-train's exports in D into these classes (strict)

Defines the PyTorch modules that match merge-train's families (the README gives them; the
docstrings of src/interop/torchMlp.ts, torchVgg.ts and torchResnet.ts too), builds tiny seeded
models with non-trivial BatchNorm statistics, and saves each state dict as safetensors (written
here by hand: the format is an 8-byte little-endian header length, a JSON header, the raw bytes),
a few inputs in merge-train's layout (NHWC, pixels in [0, 1]) and PyTorch's logits for them.

With --check-exports, reads D/manifest.json (written by scripts/torchExports.ts), loads every
exported file with load_state_dict(strict=True), compares PyTorch's logits with merge-train's and
writes them to D/pytorch-logits.json. For development only: needs PyTorch (Debian: python3-torch).
"""

import json
import math
import struct
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """merge-train's mlp: fc<k> is layers.<2k-1> (nn.Flatten is layers.0)."""

    def __init__(self, inputs=784, hidden=(256, 256), classes=10):
        super().__init__()
        widths, layers = [inputs, *hidden], [nn.Flatten()]
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.layers = nn.Sequential(*layers, nn.Linear(widths[-1], classes))

    def forward(self, x):
        return self.layers(x)


class MLPWithoutFlatten(nn.Module):
    """The same MLP flattening in forward: layers.0, layers.2, ... (merge-train reads this naming too)."""

    def __init__(self, inputs=784, hidden=(256, 256), classes=10):
        super().__init__()
        widths, layers = [inputs, *hidden], []
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.layers = nn.Sequential(*layers, nn.Linear(widths[-1], classes))

    def forward(self, x):
        return self.layers(torch.flatten(x, 1))


class VGG(nn.Module):
    """merge-train's vgg: features numbered as torchvision numbers them, one linear classifier."""

    def __init__(self, layout, in_channels=3, classes=10, batch_norm=True, conv_bias=None):
        super().__init__()
        # conv_bias: torchvision's VGGs keep a bias before BatchNorm; merge-train's definition has none.
        bias = (not batch_norm) if conv_bias is None else conv_bias
        layers, channels = [], in_channels
        for item in layout:
            if item == 'M':
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(channels, item, 3, padding=1, bias=bias))
            layers += [nn.BatchNorm2d(item), nn.ReLU()] if batch_norm else [nn.ReLU()]
            channels = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class BasicBlock(nn.Module):
    def __init__(self, inputs, width, stride=1, batch_norm=True, padding='symmetric'):
        super().__init__()
        norm = nn.BatchNorm2d if batch_norm else (lambda _: nn.Identity())
        self.same = padding == 'same' and stride > 1
        self.conv1 = nn.Conv2d(inputs, width, 3, stride, 0 if self.same else 1, bias=not batch_norm)
        self.bn1 = norm(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=not batch_norm)
        self.bn2 = norm(width)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != width:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, width, 1, stride, bias=not batch_norm),
                                          *([nn.BatchNorm2d(width)] if batch_norm else []))

    def forward(self, x):
        # TensorFlow's 'same' at stride 2: one row (column) below (right), and above (left) on odd sizes
        h = F.pad(x, (x.shape[3] % 2, 1, x.shape[2] % 2, 1)) if self.same else x
        out = F.relu(self.bn1(self.conv1(h)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """merge-train's resnet: CIFAR ResNet of BasicBlocks, global average pooling, `linear`."""

    def __init__(self, blocks=(3, 3, 3), widths=(16, 32, 64), in_channels=3, classes=10,
                 batch_norm=True, padding='symmetric'):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(widths[0]) if batch_norm else nn.Identity()
        channels, self.stages = widths[0], len(blocks)
        for s, (count, width) in enumerate(zip(blocks, widths)):
            stage = []
            for b in range(count):
                stage.append(BasicBlock(channels, width, 2 if b == 0 and s > 0 else 1, batch_norm, padding))
                channels = width
            setattr(self, f'layer{s + 1}', nn.Sequential(*stage))
        self.linear = nn.Linear(channels, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            out = getattr(self, f'layer{s + 1}')(out)
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


CLASSES = {'MLP': MLP, 'MLPWithoutFlatten': MLPWithoutFlatten, 'VGG': VGG, 'ResNet': ResNet}

DTYPES = {torch.float32: ('F32', 4), torch.int64: ('I64', 8)}
READ_DTYPES = {'F32': torch.float32, 'I64': torch.int64}


def save_safetensors(tensors, path, metadata=None):
    """A state dict as safetensors: tensors in name order, the header padded with spaces to 8 bytes."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name in sorted(tensors):
        tensor = tensors[name].detach().contiguous().cpu()
        dtype, size = DTYPES[tensor.dtype]
        data = tensor.numpy().astype('<f4' if dtype == 'F32' else '<i8').tobytes()
        assert len(data) == tensor.numel() * size
        header[name] = {'dtype': dtype, 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    Path(path).write_bytes(struct.pack('<Q', len(text)) + text + b''.join(chunks))


def load_safetensors(path):
    """A safetensors file's tensors (F32 and I64, as merge-train writes them) and metadata."""
    raw = Path(path).read_bytes()
    (length,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop('__metadata__', {})
    body = raw[8 + length:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry['data_offsets']
        buffer = bytearray(body[begin:end])
        tensors[name] = torch.frombuffer(buffer, dtype=READ_DTYPES[entry['dtype']]).reshape(entry['shape']).clone()
    return tensors, metadata


def randomise_batch_norm(model, generator):
    """BatchNorm with statistics and affine parameters far from their initial 0 / 1, so any mix-up shows."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=generator) * 0.5)
            module.running_var.copy_(torch.rand(c, generator=generator) * 1.5 + 0.5)
            module.weight.data.copy_(torch.rand(c, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(c, generator=generator) * 0.2)
            module.num_batches_tracked.fill_(37)


# Each case: a tiny model of each family and variant. `hints` is what merge-train cannot read from the
# weights (a VGG's max-pools after its last convolution); the input shape stands in for the dataset's.
CASES = [
    {'name': 'mlp', 'class': 'MLP', 'kwargs': {'inputs': 48, 'hidden': [5, 6], 'classes': 3}, 'inputShape': [4, 4, 3]},
    {'name': 'mlp-without-flatten', 'class': 'MLPWithoutFlatten', 'kwargs': {'inputs': 16, 'hidden': [7], 'classes': 4}, 'inputShape': [4, 4, 1]},
    {'name': 'vgg-batchnorm', 'class': 'VGG', 'kwargs': {'layout': [4, 'M', 6, 'M'], 'in_channels': 3, 'classes': 3}, 'inputShape': [8, 8, 3],
     'hints': {'config': {'layout': [4, 'M', 6, 'M']}}},
    {'name': 'vgg-conv-bias', 'class': 'VGG', 'kwargs': {'layout': [4, 'M', 5], 'in_channels': 3, 'classes': 3, 'conv_bias': True}, 'inputShape': [6, 6, 3],
     'hints': {'config': {'layout': [4, 'M', 5]}}},
    {'name': 'vgg-plain', 'class': 'VGG', 'kwargs': {'layout': ['M', 4, 'M', 'M', 6], 'in_channels': 1, 'classes': 2, 'batch_norm': False}, 'inputShape': [8, 8, 1],
     'hints': {'config': {'layout': ['M', 4, 'M', 'M', 6]}}},
    {'name': 'resnet-batchnorm', 'class': 'ResNet', 'kwargs': {'blocks': [1, 1, 1], 'widths': [4, 6, 8], 'in_channels': 3, 'classes': 3}, 'inputShape': [8, 8, 3]},
    {'name': 'resnet-plain', 'class': 'ResNet', 'kwargs': {'blocks': [2, 1], 'widths': [4, 6], 'in_channels': 3, 'classes': 3, 'batch_norm': False}, 'inputShape': [7, 7, 3]},
]


def write_fixtures(folder):
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    for index, case in enumerate(CASES):
        torch.manual_seed(1000 + index)
        generator = torch.Generator().manual_seed(2000 + index)
        model = CLASSES[case['class']](**case['kwargs'])
        with torch.no_grad():
            randomise_batch_norm(model, generator)
        model.eval()
        height, width, channels = case['inputShape']
        nhwc = torch.rand(3, height, width, channels, generator=generator)
        with torch.no_grad():
            logits = model(nhwc.permute(0, 3, 1, 2).contiguous())
        file = f"{case['name']}.safetensors"
        save_safetensors(model.state_dict(), folder / file, {'format': 'pt'})
        manifest.append({
            'name': case['name'], 'file': file, 'inputShape': case['inputShape'], 'numClasses': logits.shape[1],
            'hints': case.get('hints', {}), 'inputs': nhwc.flatten().tolist(),
            'logits': logits.tolist(),
        })
    (folder / 'cases.json').write_text(json.dumps(manifest, indent=1) + '\n')
    total = sum(p.stat().st_size for p in folder.iterdir())
    print(f'wrote {len(manifest)} cases to {folder} ({total} bytes)')


def check_exports(folder):
    manifest = json.loads((folder / 'manifest.json').read_text())
    results, worst = [], 0.0
    for case in manifest:
        model = CLASSES[case['torch']['class']](**case['torch']['kwargs'])
        tensors, _ = load_safetensors(folder / case['file'])
        model.load_state_dict(tensors, strict=True)  # raises on any missing or unexpected key or shape
        model.eval()
        height, width, channels = case['inputShape']
        nhwc = torch.tensor(case['inputs'], dtype=torch.float32).reshape(-1, height, width, channels)
        with torch.no_grad():
            logits = model(nhwc.permute(0, 3, 1, 2).contiguous())
        difference = (logits - torch.tensor(case['logits'])).abs().max().item()
        worst = max(worst, difference)
        print(f"{case['file']}: load_state_dict(strict=True) ok, max |logit difference| {difference:.2e}")
        results.append({'file': case['file'], 'logits': logits.tolist(), 'maxDifference': difference})
    (folder / 'pytorch-logits.json').write_text(json.dumps(results, indent=1) + '\n')
    if not math.isfinite(worst) or worst > 1e-4:
        sys.exit(f'logits differ by up to {worst}')


if __name__ == '__main__':
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == '--check-exports':
        check_exports(Path(sys.argv[2]))
    elif len(sys.argv) == 1:
        write_fixtures(Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'torch')
    else:
        sys.exit(__doc__)
