"""One base model loaded once and lent to one student's adapter after another.

PEFT wraps the base in place: it swaps IA3 layers in for the targeted modules, replaces the
classifier by a ModulesToSaveWrapper holding the student's copy (and `unload()` would leave that
copy in place), freezes parameters and adds a `peft_config` attribute. So after each adapter,
whether it loaded or failed half-way, the model's tree is put back exactly as recorded when it
was loaded (every module's children, the top model's attributes, requires_grad flags), and every
tensor is compared with its value at load time; a tensor that differs is reported and the base
is loaded again from disk, so no student is ever evaluated on what another left behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.evidence import evaluation


class LoadedBase:
    def __init__(self, model_dir: Path, seed: int, splits: dict[str, list[dict]], max_length: int):
        self.model_dir, self.seed, self.splits = model_dir, seed, splits
        self.stack, tokenizer, self.model = evaluation.load_base(model_dir, seed)
        self.batches = {name: evaluation.tokenise(tokenizer, rows, max_length) for name, rows in splits.items()}
        self.reloads = 0
        self._record()

    def _record(self) -> None:
        self._children = [(module, dict(module._modules)) for module in self.model.modules()]
        self._attributes = set(vars(self.model))
        self._requires_grad = [(p, p.requires_grad) for p in self.model.parameters()]
        self._tensors = {name: t.numpy().copy() for name, t in self.model.state_dict().items()}

    def evaluate(self, adapter_dir: Path, names: list[str]) -> dict[str, np.ndarray]:
        """Logits per split for one adapter; the base is restored afterwards, even on failure."""
        try:
            model = evaluation.with_adapter(self.stack, self.model, adapter_dir, self.seed)
            return {name: evaluation.logits(self.stack[0], model, self.batches[name], len(self.splits[name])) for name in names}
        finally:
            self.restore()

    def restore(self) -> None:
        for module, children in self._children:
            module._modules.clear()
            module._modules.update(children)
        for attribute in set(vars(self.model)) - self._attributes:
            delattr(self.model, attribute)
        for param, flag in self._requires_grad:
            param.requires_grad = flag
        self.model.eval()
        changed = self.changed()
        if changed:  # never seen with IA3; a merged adapter would do it
            self.stack, _, self.model = evaluation.load_base(self.model_dir, self.seed)
            self.reloads += 1
            self._record()

    def changed(self) -> list[str]:
        """Tensors (or names) that differ from the base as loaded."""
        now = self.model.state_dict()
        if set(now) != set(self._tensors):
            return sorted(set(now) ^ set(self._tensors))
        return [name for name, tensor in now.items() if not np.array_equal(tensor.numpy(), self._tensors[name])]
