"""Packages of the wheel: adsgen and carla_bridge as found, plus the repository's data/ folder shipped as the
package ``adsgen.data`` (seeds, the synthetic crash table, the DriveLM example), so an installed wheel finds
its inputs (adsgen/paths.py); which of its files ship is pyproject.toml's package-data. Everything else lives
in pyproject.toml: setup.py exists only because pyproject.toml cannot add a mapped folder to the packages it
finds."""

from setuptools import find_namespace_packages, setup

NOT_PACKAGES = ["*__pycache__*"]
data_packages = ["adsgen.data"] + [f"adsgen.data.{name}"
                                   for name in find_namespace_packages(where="data", exclude=NOT_PACKAGES)]

setup(
    packages=find_namespace_packages(include=["adsgen*", "carla_bridge*"], exclude=NOT_PACKAGES) + data_packages,
    package_dir={"adsgen.data": "data"},
)
