"""Class-building helpers of the original asyncqlio: properties of a class itself, abstract
bases whose coroutine methods must stay coroutines in subclasses, and classes built by
``await Cls(...)``."""
from __future__ import annotations

import inspect
from abc import ABCMeta
from typing import Any, Callable


class TypeProperty:
    """A property read on the class (``Table.columns``); on an instance it reads the class's."""

    def __init__(self, fget: Callable[..., Any]) -> None:
        self.fget = fget
        self.name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if owner is None:
            owner = type(instance)
        return self.fget.__get__(instance, owner)()


def typeproperty(func: Callable[..., Any]) -> TypeProperty:
    """``@typeproperty`` on a method of the class (made a classmethod if it is not one)."""
    if not isinstance(func, (classmethod, staticmethod)):
        func = classmethod(func)
    return TypeProperty(func)


class AsyncABCMeta(ABCMeta):
    """An ABC metaclass that also refuses a plain method overriding a coroutine method
    (``await tr.commit()`` must keep working on every subclass)."""

    def __init__(cls, name: str, bases: tuple, namespace: dict) -> None:
        coroutines = {attr for base in cls.__mro__[1:] for attr, value in vars(base).items()
                      if inspect.iscoroutinefunction(value)}
        for attr, value in namespace.items():
            if attr in coroutines and callable(value) and not inspect.iscoroutinefunction(value):
                raise TypeError(f"{name}.{attr} must be a coroutine function "
                                f"(async def), as it is on the base class")
        super().__init__(name, bases, namespace)


class AsyncABC(metaclass=AsyncABCMeta):
    """Base of abstract classes with coroutine methods."""


class AsyncInstanceType(AsyncABCMeta):
    """Classes whose ``__init__`` is a coroutine: ``obj = await Cls(...)``."""

    def __new__(mcs, name: str, bases: tuple, namespace: dict) -> Any:
        init = namespace.get("__init__")
        if init is not None and not inspect.iscoroutinefunction(init):
            raise TypeError(f"{name}.__init__ must be a coroutine function (async def)")
        return super().__new__(mcs, name, bases, namespace)

    async def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        self = cls.__new__(cls)
        await self.__init__(*args, **kwargs)
        return self


class AsyncObject(metaclass=AsyncInstanceType):
    """Base of classes made with ``await Cls(...)``."""


def make_proxy(name: str) -> Callable[..., Any]:
    """A method that calls what ``self.__getattr__(name)`` returns."""
    def proxy(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self.__getattr__(name)(*args, **kwargs)
    proxy.__name__ = name
    return proxy


def proxy_to_getattr(*magic_methods: str) -> Callable[[type], type]:
    """A class decorator sending these special methods (which Python looks up on the type,
    never through ``__getattr__``) to ``__getattr__``."""
    def decorate(cls: type) -> type:
        for name in magic_methods:
            setattr(cls, name, make_proxy(name))
        return cls
    return decorate
