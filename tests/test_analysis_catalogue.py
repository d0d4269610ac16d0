"""The challenge catalogue: packaged content, validation and planners' overrides."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from analysis.challenges import apply_weights, load_catalogue


def test_packaged_catalogue_ships_the_three_challenges_and_their_indicators() -> None:
    catalogue = load_catalogue()

    assert catalogue.challenge_ids == ("agua", "conectividad", "rural_urbano")
    assert catalogue.score_ids[-1] == "compuesto"
    ids = {i.id for i in catalogue.indicators}
    assert {
        "agua_sin_red_publica",
        "apr_beneficiarios_por_hab_rural",
        "apr_estado_deficiente",
        "apr_minutos",
        "salud_primaria_minutos",
        "salud_primaria_mas_60_min_pct",
        "hospital_minutos",
        "escuela_minutos",
        "centro_minutos",
        "densidad_hab_km2",
        "pobreza_multidimensional_pct",
        "pobreza_ingresos_pct",
        "ingresos_propios_per_capita_clp",
        "campamentos_hogares_por_mil",
    } <= ids
    for indicator in catalogue.indicators:
        assert indicator.label and indicator.unit and indicator.source and indicator.dataset
    assert catalogue.challenge("rural_urbano").label == "Equilibrio rural–urbano"
    assert catalogue.label_of("compuesto") == "Índice compuesto de brechas"


def test_rurality_counts_once_and_transfers_are_not_read_as_capacity() -> None:
    catalogue = load_catalogue()
    columns = [i.column for i in catalogue.indicators]
    # Rurality enters only as dispersion (density) in the rural-urban challenge.
    assert "poblacion_rural_pct" not in columns
    assert [i.challenge for i in catalogue.indicators if i.column == "densidad_hab_km2"] == [
        "rural_urbano"
    ]
    # Total municipal income per inhabitant marks Fondo Común transfers: dropped.
    assert "ingreso_municipal_per_capita_clp" not in columns
    own = catalogue.indicator("ingresos_propios_per_capita_clp")
    assert own.direction == "lower_is_worse"
    sampled = [i.id for i in catalogue.indicators if i.interval is not None]
    assert sampled == ["pobreza_ingresos_pct", "pobreza_multidimensional_pct"]


def test_flat_and_nested_weight_files_are_equivalent() -> None:
    base = load_catalogue()
    flat = apply_weights(base, {"agua": 2.0, "pobreza_multidimensional_pct": 0.5})
    nested = apply_weights(
        base, {"challenges": {"agua": 2.0}, "indicators": {"pobreza_multidimensional_pct": 0.5}}
    )

    assert flat == nested
    assert flat.challenge("agua").weight == 2.0
    assert flat.indicator("pobreza_multidimensional_pct").weight == 0.5
    assert base.challenge("agua").weight == 1.0  # the input catalogue is not modified


def test_unknown_or_invalid_weights_are_refused_with_clear_messages() -> None:
    base = load_catalogue()
    with pytest.raises(KeyError, match="agua_potable"):
        apply_weights(base, {"agua_potable": 1.0})
    with pytest.raises(KeyError, match=r"challenges\.agua_sin_red_publica"):
        apply_weights(base, {"challenges": {"agua_sin_red_publica": 1.0}})
    with pytest.raises(ValueError, match="número"):
        apply_weights(base, {"agua": "mucho"})
    with pytest.raises(ValidationError):
        apply_weights(base, {"agua": -1.0})
    zero_water = {i.id: 0.0 for i in base.indicators_of("agua")}
    with pytest.raises(ValidationError, match="peso positivo"):
        apply_weights(base, zero_water)


def test_override_adds_an_indicator_without_code_and_marks_the_version() -> None:
    catalogue = load_catalogue(
        {
            "weights": {"conectividad": 2.0},
            "indicators": [
                {
                    "id": "pobreza_ic_superior",
                    "challenge": "rural_urbano",
                    "label": "Pobreza multidimensional, límite superior",
                    "unit": "%",
                    "source": "MDSF",
                    "dataset": "pobreza_multidimensional_comunal",
                    "year": 2022,
                    "direction": "mayor_es_peor",
                    "weight": 0.1,
                    "variable": "pobreza_ic_superior_pct",
                }
            ],
            "densidad_hab_km2": 0.3,
        }
    )

    added = catalogue.indicator("pobreza_ic_superior")
    assert added.direction == "higher_is_worse"
    assert added.column == "pobreza_ic_superior_pct"
    assert catalogue.challenge("conectividad").weight == 2.0
    assert catalogue.indicator("densidad_hab_km2").weight == 0.3
    assert catalogue.version.endswith("+override")


def test_override_edits_fields_of_an_existing_indicator() -> None:
    catalogue = load_catalogue(
        {"version": "coquimbo-2025", "indicators": {"pobreza_ingresos_pct": {"target": 10.0}}}
    )

    assert catalogue.version == "coquimbo-2025"
    assert catalogue.indicator("pobreza_ingresos_pct").target == 10.0
    assert catalogue.indicator("pobreza_ingresos_pct").label == "Pobreza por ingresos"


def test_inconsistent_catalogues_are_rejected() -> None:
    with pytest.raises(ValidationError, match="desconocido"):
        load_catalogue(
            {
                "indicators": [
                    {
                        "id": "nuevo",
                        "challenge": "vivienda",
                        "label": "x",
                        "unit": "%",
                        "source": "x",
                        "dataset": "x",
                        "direction": "higher_is_worse",
                        "weight": 1.0,
                    }
                ]
            }
        )
    with pytest.raises(ValidationError):
        load_catalogue({"indicators": {"agua_sin_red_publica": {"direction": "sideways"}}})
    with pytest.raises(ValidationError, match="ya está en uso"):
        load_catalogue({"composite_id": "agua"})
