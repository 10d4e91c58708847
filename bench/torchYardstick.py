"""PyTorch's side of merge-train's PyTorch yardstick (bench/torchCompare.ts starts it; not run by hand).

    python3 bench/torchYardstick.py <threads> '<cases as JSON>'

The same protocol as bench/yardstickTrainer.ts: reads `epoch <case key>` lines from stdin, trains that
case for one epoch of SGD with momentum and cross-entropy on synthetic data (the first request of a case
also builds its model and data, outside the timing) and answers `yardstick {"seconds": ...}`; the first
answer, `yardstick {"ready": ...}`, says torch is loaded. The networks are the PyTorch twins of
merge-train's families defined in scripts/torchFixtures.py, built from the same case configurations;
inputs are in PyTorch's own layout (NCHW), as merge-train's are in its own (NHWC).
"""

import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'scripts'))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torchFixtures import MLP, VGG, ResNet  # noqa: E402

PREFIX = 'yardstick '
CLASSES = 10


def answer(message):
    sys.stdout.write(PREFIX + json.dumps(message) + '\n')
    sys.stdout.flush()


def scaled(width, multiplier):
    """merge-train's max(1, Math.round(width * multiplier)) (JavaScript rounds halves up)."""
    return max(1, math.floor(width * multiplier + 0.5))


def build(family, config, input_shape):
    """The PyTorch twin of merge-train's family with this configuration (its defaults where absent)."""
    multiplier = config.get('width', 1)
    if family == 'mlp':
        return MLP(math.prod(input_shape), config.get('hidden', [256, 256]), CLASSES)
    if family == 'vgg':
        layout = config['layout']  # merge-train's named layouts are not needed by the bench
        layout = [item if item == 'M' else scaled(item, multiplier) for item in layout]
        return VGG(layout, input_shape[-1], CLASSES, config.get('batchNorm', True))
    if family == 'resnet':
        widths = [scaled(w, multiplier) for w in config.get('widths', [16, 32, 64])]
        return ResNet(config.get('blocks', [3, 3, 3]), widths, input_shape[-1], CLASSES,
                      config.get('batchNorm', True), config.get('padding', 'same'))
    raise ValueError(f'no PyTorch twin of family "{family}"')


class Case:
    """A case's model, optimizer and synthetic data: normal inputs (NCHW for images), uniform labels."""

    def __init__(self, case, settings):
        torch.manual_seed(0)
        self.model = build(case['family'], case['config'], case['inputShape'])
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=settings['learningRate'], momentum=settings['momentum'])
        self.batch_size = settings['batchSize']
        generator = torch.Generator().manual_seed(7)
        shape = case['inputShape']
        layout = [shape[-1], *shape[:-1]] if len(shape) == 3 else shape
        self.x = torch.randn(case['examples'], *layout, generator=generator)
        self.y = torch.randint(0, CLASSES, (case['examples'],), generator=generator)
        self.epochs = 0

    def epoch_seconds(self):
        """One epoch in a fresh seeded order; like merge-train, reads the loss and accuracy back once at its end."""
        started = time.perf_counter()
        self.model.train()
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.epochs))
        self.epochs += 1
        loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.int64)
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            x, y = self.x[rows], self.y[rows]
            logits = self.model(x)
            loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(rows)
                correct += (logits.argmax(1) == y).sum()
        self.last = (loss_sum.item() / len(order), correct.item())
        return time.perf_counter() - started


def blas_library():
    """The BLAS library file this process loaded (Linux), resolved through Debian's alternatives links."""
    try:
        with open('/proc/self/maps') as maps:
            paths = {line.split()[-1] for line in maps if '/' in line}
    except OSError:
        return None
    found = sorted(p for p in paths if 'blas' in os.path.basename(p))
    return os.path.realpath(found[0]) if found else None


def matmul_gflops(size=512, repeats=3):
    """The best of a few size^3 products: an optimised BLAS gives tens of GFLOP/s, the reference one a few."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size ** 3 / best / 1e9


def main():
    threads, cases = int(sys.argv[1]), json.loads(sys.argv[2])
    settings = json.loads(sys.argv[3])
    # Both pools: intra-op for the kernels, inter-op set alike so no other pool adds threads.
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)
    cases = {case['key']: case for case in cases}
    answer({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(),
            'blas': blas_library(), 'matmulGflops': matmul_gflops()})
    prepared = {}
    for line in sys.stdin:
        words = line.split()
        try:
            if len(words) != 2 or words[0] != 'epoch' or words[1] not in cases:
                raise ValueError(f'unknown request "{line.strip()}"; expected "epoch <{"|".join(cases)}>"')
            key = words[1]
            if key not in prepared:
                prepared[key] = Case(cases[key], settings)
            answer({'seconds': prepared[key].epoch_seconds()})
        except Exception as error:  # answered, so the parent reports it instead of waiting
            answer({'error': f'{type(error).__name__}: {error}'})


if __name__ == '__main__':
    main()
