"""DVC parses params.yaml once per stage and dvc.lock twice per `dvc repro` with ruamel.yaml's "safe" loader.

Its pure-Python parser is about 5x slower than the C one, and since ruamel.yaml 0.19.1 the C one comes only
with an extra (pyproject.toml asks for it): without it a no-op `dvc repro` of this pipeline takes twice as
long (issue 19, item 10).
"""
import ruamel.yaml.parser
from ruamel.yaml import YAML


def test_dvc_parses_yaml_with_the_c_parser():
    assert YAML(typ="safe").Parser is not ruamel.yaml.parser.Parser, (
        "ruamel.yaml has no C parser here: pip install 'ruamel.yaml[oldlibyaml]' (pyproject.toml lists it)")
