"""Import stubs so that auto-circuit's modules import without transformer_lens, tracr, blobfile...
Only micro-model code paths are exercised by the fixture export; using any stubbed object raises."""
import importlib.abc
import importlib.machinery
import sys
import types

STUBBED = ("transformer_lens", "tracr", "word2word", "blobfile", "kaleido", "jaxtyping", "haiku", "jax")


class _Stubbed:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("a stubbed dependency of auto-circuit was used by the fixture export")

    def __class_getitem__(cls, item):
        return cls


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (_Stubbed,), {})
        setattr(self, name, value)
        return value


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())
