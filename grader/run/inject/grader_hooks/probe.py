"""Observe what the student's run really trains, from inside its process.

When a PEFT model is built (by get_peft_model, PeftModel.from_pretrained or any PeftModel class
called directly) the probe records its PEFT config and every parameter: name, shape, dtype,
whether it is trainable, and a CRC-32 of its bytes. It records again before every
save_pretrained, every so often while the model trains, on a normal exit and on SIGTERM, and
notes the loss of each training forward pass when the model returns one.

What this run changed is measured, not inferred from the values: the probe keeps a copy of the
adapter's tensors (the IA3 vectors and the head, a few MB) as a baseline, taken when the model is
built, again after every load of weights into it (load_adapter, which PeftModel.from_pretrained
calls; set_peft_model_state_dict; load_state_dict; MindSpore's load_param_into_net) and just before
its first training-mode forward pass; every snapshot says, per tensor, how far it moved from that
baseline. A load names the files it read (path and sha256, as read) and a save the files it wrote,
so the grader can tell a run that reloads its own adapter from one that starts from someone else's.

Records are sent line by line, at once, over a Unix socket (GRADER_PROBE_SOCKET) that the grader
reads as the run goes: a run killed at the budget leaves everything up to its last snapshot, and
nothing the run does afterwards can rewrite what was sent. Each process (a fork included) has its
own connection, and every line carries a sequence number, so gaps show. Standard library only at
import time; peft is patched when the student's code (or MindNLP) first imports it, as `peft`
(MindNLP 0.5, Hugging Face PEFT on mindtorch) or as `mindnlp.peft` (MindNLP 0.4). The student's
code runs in the same process and could tamper with all this: the grader treats the record as
evidence to cross-check, never as a verdict.
"""

import atexit
import functools
import json
import os
import signal
import socket
import sys
import threading
import time
import weakref
import zlib

from .importhooks import when_imported

SOCKET_ENV = "GRADER_PROBE_SOCKET"
INTERVAL_ENV = "GRADER_PROBE_INTERVAL"
PACKAGES = ("peft", "mindnlp.peft")
COST_FACTOR = 20  # a periodic snapshot waits at least 20x its own cost: at most ~5 % overhead
MARK = "_grader_probe_patched"
ROW_TOKENS = 16  # tokens of each training row fingerprinted (evidence/training_rows.py computes the same)
ROWS_KEPT = 50000  # row fingerprints sent per process: several epochs of MRPC's 3,668 training pairs
MERGES = ("merge_and_unload", "merge_adapter", "unload")  # on the tuner: they rewrite base weights on purpose
ACK_SECONDS = 60.0  # how long a new connection waits for the grader to know its pid (a dead grader cannot hang the run)
ADAPTER_MARKERS = ("ia3_", "lora_", "modules_to_save", "prompt_encoder", "lokr_", "loha_")
MAX_BASELINE_BYTES = 256 * 1024**2  # the copy kept per model; RoBERTa-large's IA3 vectors and head are ~5 MB
MAX_HASHED_BYTES = 2 * 1024**3  # a weights file larger than this is named, not hashed
MAX_FILES = 16  # weights files named per load or save
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin", "adapter_model.ckpt")
LOAD_METHODS = ("load_adapter",)  # on PeftModel: PeftModel.from_pretrained calls it
LOAD_FUNCTIONS = ("set_peft_model_state_dict",)  # module-level, wherever the package re-exports it
READ_FUNCTIONS = ("load_peft_weights",)  # read files into a state dict: their names go with the next load

_lock = threading.RLock()
_socket_path = None
_conn = None  # (pid, socket): a forked child opens its own connection
_seq = 0
_start = time.monotonic()
_min_interval = 5.0
_fixed_interval = False  # GRADER_PROBE_INTERVAL given: snapshot exactly that often
_models = []  # _Tracked, in order of creation
_depth = {}  # id(model) -> nesting of patched __init__ calls still running
_busy = False
_rows_sent = 0
_loading = 0  # nesting of patched load calls still running: only the outermost is recorded
_files_read = []  # files read by load_peft_weights, named by the next load


class _Tracked:
    def __init__(self, number, model):
        self.number = number
        try:
            self.ref = weakref.ref(model)
        except TypeError:
            self.ref = lambda model=model: model
        self.train_forwards = 0
        self.forwards_without_loss = 0
        self.pending_loss = None
        self.next_snapshot = 0.0
        self.interval = _min_interval
        self.watched = set()  # adapter tensors and those trainable at creation
        self.baseline = None  # {name: values} when the last baseline was taken; None: over the cap
        self.started_training = False


def install():
    global _socket_path, _min_interval, _fixed_interval
    _socket_path = os.environ.get(SOCKET_ENV)
    if not _socket_path:
        return
    if os.environ.get(INTERVAL_ENV):
        _min_interval, _fixed_interval = float(os.environ[INTERVAL_ENV]), True
    _write({"event": "start", "python": sys.version.split()[0], "unix_time": round(time.time(), 3)})
    for name in PACKAGES:
        when_imported(name, _safe(_attach))
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _safe(function):
    """The probe must never break the student's run: report and carry on."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            try:
                _write({"event": "probe_error", "where": function.__name__, "error": f"{type(exc).__name__}: {exc}"})
            except Exception:
                pass
            return None

    return wrapper


def _connection():
    """This process's connection to the grader, opened on first use (again after a fork). Nothing
    is sent before the grader's one-byte acknowledgement: it looks this process's pid up while the
    process is certainly alive, so a process that exits at once is still filed under its pid."""
    global _conn, _seq
    if _conn is None or _conn[0] != os.getpid():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(_socket_path)
        sock.settimeout(ACK_SECONDS)
        try:
            sock.recv(1)
        except OSError:  # a timeout: a grader this slow is told by the record itself
            pass
        sock.settimeout(None)
        _conn, _seq = (os.getpid(), sock), 0
    return _conn[1]


def _write(record):
    global _seq, _socket_path
    if _socket_path is None:
        return
    with _lock:
        try:
            sock = _connection()
            _seq += 1
            record = {"pid": os.getpid(), "seq": _seq, "t": round(time.monotonic() - _start, 3), **record}
            sock.sendall((json.dumps(record, default=str) + "\n").encode())
        except OSError:  # the grader stopped listening: the record ends here
            _socket_path = None


def _attach(package):
    """Patch PeftModel and its subclasses once, whichever package exposes them."""
    base = getattr(package, "PeftModel", None)
    if base is None or base.__dict__.get(MARK):
        return
    classes, stack = [], [base]
    while stack:
        cls = stack.pop()
        if cls not in classes:
            classes.append(cls)
            stack.extend(cls.__subclasses__())
    for cls in classes:
        if "__init__" in cls.__dict__:
            cls.__init__ = _wrap_init(cls.__dict__["__init__"])
    if callable(getattr(base, "save_pretrained", None)):
        base.save_pretrained = _wrap_save(base.save_pretrained)
    for method in LOAD_METHODS:
        if callable(getattr(base, method, None)):
            setattr(base, method, _wrap_load(getattr(base, method), f"PeftModel.{method}", _adapter_files))
    _patch_functions(package.__name__)

    setattr(base, MARK, True)
    _write({"event": "attached", "package": package.__name__, "class": f"{base.__module__}.{base.__qualname__}", "classes": len(classes)})


def _patch_functions(prefix):
    """Replace the load functions in every module of the package that holds them (peft re-exports
    set_peft_model_state_dict from peft.utils and uses it in peft.peft_model), and MindSpore's."""
    modules = [m for n, m in list(sys.modules.items()) if m is not None and (n == prefix or n.startswith(prefix + "."))]
    modules += [sys.modules[n] for n in ("mindspore", "mindspore.train.serialization") if sys.modules.get(n) is not None]
    wrapped = {}
    for module in modules:
        for name in LOAD_FUNCTIONS + READ_FUNCTIONS + ("load_param_into_net",):
            original = module.__dict__.get(name)
            if not callable(original) or getattr(original, MARK, False):
                continue
            if id(original) not in wrapped:
                if name in READ_FUNCTIONS:
                    wrapped[id(original)] = _wrap_read(original)
                else:
                    wrapped[id(original)] = _wrap_load(original, name, _no_files)
            setattr(module, name, wrapped[id(original)])


def _patch_module_loads(model):
    """load_state_dict on the framework's module class (the last class of the model's that defines it)."""
    owners = [cls for cls in type(model).__mro__ if "load_state_dict" in cls.__dict__]
    if not owners or getattr(owners[-1].__dict__["load_state_dict"], MARK, False):
        return
    owners[-1].load_state_dict = _wrap_load(owners[-1].__dict__["load_state_dict"], "load_state_dict", _no_files)


def _wrap_load(original, via, files_of):
    """Record, after the outermost load returns (or fails), the state of every watched model the
    load wrote into, with the files it read, and take a new baseline."""

    @functools.wraps(original)
    def load(*args, **kwargs):
        global _loading
        _loading += 1
        try:
            return original(*args, **kwargs)
        finally:
            _loading -= 1
            if _loading == 0:
                _safe(_loaded)(via, args, kwargs, files_of)

    setattr(load, MARK, True)
    return load


def _wrap_read(original):
    @functools.wraps(original)
    def read(*args, **kwargs):
        result = original(*args, **kwargs)
        _safe(_note_read)(args, kwargs)
        return result

    setattr(read, MARK, True)
    return read


def _note_read(args, kwargs):
    _files_read.extend(_adapter_files((None, *args), kwargs))
    del _files_read[:-MAX_FILES]


def _no_files(args, kwargs):
    return []


def _adapter_files(args, kwargs):
    """The weights files of the adapter folder a load_adapter(model_id, ...) reads."""
    model_id = kwargs.get("model_id", args[1] if len(args) > 1 else None)
    if model_id is None:
        return []
    folder = os.path.join(str(model_id), str(kwargs.get("subfolder") or ""))
    return [_file_record(os.path.join(folder, name)) for name in WEIGHT_FILES if os.path.isfile(os.path.join(folder, name))]


def _file_record(path):
    """[absolute path, sha256 of the bytes as read (None past MAX_HASHED_BYTES), size]."""
    import hashlib

    path = os.path.abspath(path)
    size = os.path.getsize(path)
    if size > MAX_HASHED_BYTES:
        return [path, None, size]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return [path, digest.hexdigest(), size]


def _loaded(via, args, kwargs, files_of):
    files = []
    for found in files_of(args, kwargs) + _files_read:
        if found not in files:
            files.append(found)
    _files_read.clear()
    target = args[0] if args else None
    for tracked in list(_models):
        model = tracked.ref()
        if model is None or not _holds(model, target):
            continue
        _snapshot(tracked, "load", {"via": via, "files": files[:MAX_FILES]})
        _take_baseline(tracked, model)


def _holds(model, target):
    if target is model:
        return True
    modules = getattr(model, "modules", None)
    return callable(modules) and any(m is target for m in modules())


def _wrap_init(original):
    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        key = id(self)
        _depth[key] = _depth.get(key, 0) + 1
        try:
            original(self, *args, **kwargs)
        finally:
            _depth[key] -= 1
            outermost = _depth[key] == 0
            if outermost:
                del _depth[key]
        if outermost:
            _safe(_created)(self)

    return __init__


def _wrap_save(original):
    @functools.wraps(original)
    def save_pretrained(self, save_directory, *args, **kwargs):
        _safe(_snapshot_model)(self, "save", {"directory": os.path.abspath(str(save_directory))})
        result = original(self, save_directory, *args, **kwargs)
        _safe(_saved)(self, save_directory)
        return result

    return save_pretrained


def _saved(model, save_directory):
    """The weights files save_pretrained wrote (the default adapter's, at the folder's top)."""
    tracked = _tracked(model)
    folder = os.path.abspath(str(save_directory))
    files = [_file_record(os.path.join(folder, name)) for name in WEIGHT_FILES if os.path.isfile(os.path.join(folder, name))]
    _write({"event": "saved", "model": tracked.number if tracked else None, "directory": folder, "files": files})


def _timed_parameters(tracked, model):
    """Every parameter's record, and what taking it cost: the next periodic snapshot waits in proportion."""
    started = time.monotonic()
    parameters = _parameters(model)
    cost = time.monotonic() - started
    _schedule(tracked, cost)
    return parameters, cost


def _created(model):
    with _lock:
        tracked = _Tracked(len(_models) + 1, model)
        _models.append(tracked)
        if len(_models) == 1:
            # atexit runs last-registered first: registering now, after MindSpore registered its
            # own clean-up, lets the exit snapshot read tensors before the runtime is torn down.
            atexit.register(_safe(_at_exit))
    parameters, cost = _timed_parameters(tracked, model)
    tracked.watched = {row[0] for row in parameters if row[3] or any(marker in row[0] for marker in ADAPTER_MARKERS)}
    _take_baseline(tracked, model)
    _write(
        {
            "event": "created",
            "model": tracked.number,
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "config": _config(model),
            "parameters": parameters,
            "cost_s": round(cost, 4),
        }
    )
    _wrap_forward(model, tracked)
    _patch_module_loads(model)
    tuner = getattr(model, "base_model", None)
    if tuner is not None:
        _patch_tuner(type(tuner))


def _patch_tuner(cls):
    """Record the model just before merging folds the adapter into the base weights."""
    if cls.__dict__.get(MARK):
        return
    for method in MERGES:
        original = getattr(cls, method, None)
        if callable(original):
            setattr(cls, method, _wrap_merge(original, method))
    setattr(cls, MARK, True)


def _wrap_merge(original, method):
    @functools.wraps(original)
    def merge(self, *args, **kwargs):
        for tracked in list(_models):
            if getattr(tracked.ref(), "base_model", None) is self:
                _safe(_snapshot)(tracked, "merge", {"method": method})
        return original(self, *args, **kwargs)

    return merge


def _schedule(tracked, cost):
    tracked.interval = _min_interval if _fixed_interval else max(_min_interval, COST_FACTOR * cost)
    tracked.next_snapshot = time.monotonic() + tracked.interval


def _config(model):
    configs = getattr(model, "peft_config", None) or {}
    found = {}
    for name, config in dict(configs).items():
        raw = config.to_dict() if hasattr(config, "to_dict") else dict(vars(config))
        found[str(name)] = json.loads(json.dumps(raw, default=str))
    return found


def _array(tensor):
    if hasattr(tensor, "asnumpy"):
        return tensor.asnumpy()
    if hasattr(tensor, "detach"):
        tensor = tensor.detach()
    if hasattr(tensor, "cpu"):
        tensor = tensor.cpu()
    return tensor.numpy()


def _fingerprint(tensor):
    array = _array(tensor)
    if not array.flags.c_contiguous:
        array = array.copy()
    return f"{zlib.crc32(memoryview(array).cast('B')):08x}"


def _parameters(model):
    """[name, shape, dtype, trainable, fingerprint] for every parameter."""
    rows = []
    for name, parameter in model.named_parameters():
        try:
            fingerprint = _fingerprint(parameter)
        except Exception as exc:
            fingerprint = f"error: {type(exc).__name__}"
        rows.append([name, [int(d) for d in parameter.shape], str(parameter.dtype), bool(parameter.requires_grad), fingerprint])
    return rows


def _take_baseline(tracked, model):
    """Copy the watched tensors' values: later snapshots say how far each moved from them."""
    kept, total = {}, 0
    for name, parameter in model.named_parameters():
        if name in tracked.watched:
            values = _array(parameter)
            total += values.nbytes
            if total > MAX_BASELINE_BYTES:
                tracked.baseline = None
                return
            kept[name] = values.copy()
    tracked.baseline = kept


def _moved(tracked, model):
    """[[name, largest |change|, elements changed]] for every watched tensor whose values differ
    from the baseline; None when no baseline was kept."""
    if tracked.baseline is None:
        return None
    import numpy

    rows = []
    for name, parameter in model.named_parameters():
        old = tracked.baseline.get(name)
        if old is None:
            continue
        new = _array(parameter)
        if new.shape != old.shape:
            rows.append([name, None, int(new.size)])
            continue
        changed = new != old
        count = int(numpy.count_nonzero(changed))
        if count:
            change = numpy.abs(new.astype(numpy.float64) - old.astype(numpy.float64))
            rows.append([name, float(numpy.max(change)), count])
    return rows


def _tracked(model):
    for tracked in _models:
        if tracked.ref() is model:
            return tracked
    return None


def _snapshot(tracked, reason, extra=None):
    global _busy
    model = tracked.ref()
    if model is None or _busy:
        return
    _busy = True
    try:
        _flush_loss(tracked)
        parameters, cost = _timed_parameters(tracked, model)
        _write(
            {
                "event": "snapshot",
                "model": tracked.number,
                "reason": reason,
                "train_forwards": tracked.train_forwards,
                "parameters": parameters,
                "moved": _moved(tracked, model),
                "cost_s": round(cost, 4),
                **(extra or {}),
            }
        )
    finally:
        _busy = False


def _snapshot_model(model, reason, extra=None):
    tracked = _tracked(model)
    if tracked is None:
        _write({"event": reason, "model": None, **(extra or {})})
        return
    _snapshot(tracked, reason, extra)


def _flush_loss(tracked):
    """Read the previous step's loss now, outside the step that computed it."""
    loss, tracked.pending_loss = tracked.pending_loss, None
    if loss is None:
        return
    try:
        value = float(loss.item() if hasattr(loss, "item") else loss)
    except Exception:
        return
    _write({"event": "loss", "model": tracked.number, "step": tracked.train_forwards, "loss": value})


def _wrap_forward(model, tracked):
    original = model.forward

    @functools.wraps(original)
    def forward(*args, **kwargs):
        _safe(_before_forward)(model, tracked)
        if getattr(model, "training", False):
            _safe(_training_rows)(model, tracked, args, kwargs)
        output = original(*args, **kwargs)
        _safe(_after_forward)(model, tracked, output)
        return output

    model.forward = forward


def _before_forward(model, tracked):
    _flush_loss(tracked)
    if getattr(model, "training", False) and not tracked.started_training:
        tracked.started_training = True  # what moved before this was not trained: the baseline starts here
        _snapshot(tracked, "train_start")
        _take_baseline(tracked, model)
        return
    if getattr(model, "training", False) and time.monotonic() >= tracked.next_snapshot:
        _snapshot(tracked, "periodic")


def row_fingerprint(tokens):
    """A short hash of a row's first ROW_TOKENS token ids, padding left out."""
    return "%08x" % zlib.crc32(",".join(str(int(t)) for t in tokens[:ROW_TOKENS]).encode())


def _training_rows(model, tracked, args, kwargs):
    """Fingerprint every row of a training-mode pass's input_ids (padding stripped by the
    attention mask, else by the model's pad id), so the grader can tell which split they came from."""
    global _rows_sent
    ids = kwargs.get("input_ids", args[0] if args else None)
    if getattr(ids, "shape", None) is None or len(ids.shape) != 2 or _rows_sent >= ROWS_KEPT:
        return  # not a batch of token ids (a model fed embeddings, or something else entirely)
    ids = _array(ids)
    mask = kwargs.get("attention_mask")
    mask = _array(mask) if mask is not None else None
    if mask is not None and tuple(mask.shape) != tuple(ids.shape):
        mask = None
    pad = getattr(getattr(model, "config", None), "pad_token_id", None)
    rows = []
    for i, row in enumerate(ids.tolist()):
        if mask is not None:
            row = [t for t, keep in zip(row, mask[i].tolist()) if keep]
        elif pad is not None:
            row = [t for t in row if t != pad]
        rows.append(row_fingerprint(row))
    _rows_sent += len(rows)
    _write({"event": "rows", "model": tracked.number, "step": tracked.train_forwards, "rows": rows})


def _after_forward(model, tracked, output):
    if not getattr(model, "training", False):
        return
    tracked.train_forwards += 1
    loss = getattr(output, "loss", None)
    if loss is None and isinstance(output, dict):
        loss = output.get("loss")
    if loss is None:
        tracked.forwards_without_loss += 1
    tracked.pending_loss = loss


def _final(reason):
    for tracked in list(_models):
        _safe(_snapshot)(tracked, reason)
    _write({"event": "end", "reason": reason})


def _at_exit():
    _final("exit")


def _on_sigterm(signum, frame):
    """Record once more, then die of SIGTERM as the run would have without the probe."""
    _safe(_final)("terminated")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
