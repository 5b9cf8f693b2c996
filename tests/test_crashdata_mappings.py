"""Every raw value documented for the Maryland tables (both Montgomery eras) has a mapping, and the
mapping files are valid data."""

from __future__ import annotations

import pytest

from adsgen.crashdata.sources import MONTGOMERY, STATEWIDE, STATEWIDE_VEHICLES
from adsgen.crashdata.vocab import MAPPINGS_DIR, load_vocabulary
from adsgen.variables import STATES

# values published for the tables (see docs/crashdata.md); "-" = known but maps to missing
MONTGOMERY_VALUES = {
    "montgomery_weather": (
        "CLEAR|CLOUDY|RAINING|SNOW|FOGGY|SLEET|WINTRY MIX|BLOWING SNOW|SEVERE WINDS|BLOWING SAND|SOIL|DIRT|"
        "OTHER|UNKNOWN|Clear|Cloudy|Rain|Snow|Fog|Smog|Smoke|Sleet Or Hail|"
        "Freezing Rain Or Freezing Drizzle|Blowing Snow|Severe Crosswinds|Unknown|N/A"),
    "montgomery_surface_condition": (
        "DRY|WET|ICE|SNOW|SLUSH|WATER(STANDING/MOVING)|MUD|DIRT|GRAVEL|OIL|SAND|OTHER|UNKNOWN|MUD, DIRT, GRAVEL|"
        "Dry|Wet|Ice/Frost|Snow|Slush|Water (standing, moving)|Mud|Dirt|Gravel|Sand|Other"),
    "montgomery_light": (
        "DAYLIGHT|DARK LIGHTS ON|DARK NO LIGHTS|DARK -- UNKNOWN LIGHTING|DAWN|DUSK|OTHER|UNKNOWN|"
        "Daylight|Dark - Lighted|Dark - Not Lighted|Dark - Unknown Lighting|Dawn|Dusk|Other|Unknown"),
    "montgomery_collision_type": (
        "SAME DIR REAR END|STRAIGHT MOVEMENT ANGLE|SINGLE VEHICLE|SAME DIRECTION SIDESWIPE|"
        "OPPOSITE DIRECTION SIDESWIPE|HEAD ON|HEAD ON LEFT TURN|ANGLE MEETS LEFT TURN|ANGLE MEETS RIGHT TURN|"
        "SAME DIRECTION LEFT TURN|SAME DIRECTION RIGHT TURN|OTHER|UNKNOWN|Front to Rear|Front to Front|Angle|"
        "Sideswipe, Same Direction|Sideswipe, Opposite Direction|Rear To Side|Rear To Rear|Single Vehicle|"
        "Other|Unknown"),
    "montgomery_traffic_control": (
        "NO CONTROLS|TRAFFIC SIGNAL|STOP SIGN|YIELD SIGN|FLASHING TRAFFIC SIGNAL|WARNING SIGN|"
        "SCHOOL ZONE SIGN DEVICE|RAILWAY CROSSING DEVICE|PERSON|OTHER|UNKNOWN|No Controls|"
        "Traffic Control Signal|Flashing Traffic Control Signal|Stop Sign|Yield Sign"),
    "montgomery_vehicle_movement": (
        "MOVING CONSTANT SPEED|SLOWING OR STOPPING|STOPPED IN TRAFFIC LANE|MAKING LEFT TURN|MAKING RIGHT TURN|"
        "MAKING U TURN|CHANGING LANES|ACCELERATING|BACKING|SKIDDING|PASSING|NEGOTIATING A CURVE|"
        "ENTERING TRAFFIC LANE|LEAVING TRAFFIC LANE|STARTING FROM LANE|PARKING|PARKED|OTHER|UNKNOWN|"
        "Turning Left|Turning Right|Making U-Turn|Overtaking/Passing|Stopped in Traffic"),
    "montgomery_driver_distracted_by": (
        "NOT DISTRACTED|LOOKED BUT DID NOT SEE|INATTENTIVE OR LOST IN THOUGHT|TEXTING FROM A CELLULAR PHONE|"
        "TALKING OR LISTENING TO CELLULAR PHONE|UNKNOWN|Manually Operating (Dialing, Playing Game, Etc.)|"
        "Talking/Listening"),
    "montgomery_driver_substance_abuse": (
        "NONE DETECTED|ALCOHOL PRESENT|ALCOHOL CONTRIBUTED|ILLEGAL DRUG PRESENT|MEDICATION PRESENT|UNKNOWN|"
        "Not Suspect of Alcohol Use, Not Suspect of Drug Use|Suspect of Alcohol Use, Not Suspect of Drug Use"),
    "montgomery_acrs_report_type": "Property Damage Crash|Injury Crash|Fatal Crash",
}

STATEWIDE_VALUES = {
    "statewide_report_type": "Property Damage Crash|Injury Crash|Fatal Crash",
    "statewide_light_desc": ("Daylight|Dark Lights On|Dark No Lights|Dawn|Dusk|Dark -- Unknown Lighting|Other|"
                             "Unknown|Not Applicable"),
    "statewide_weather_desc": ("Clear|Cloudy|Raining|Foggy|Snow|Blowing Snow|Sleet|Wintry Mix|Blowing Sand|Soil|"
                               "Dirt|Severe Crosswinds|Severe Winds|Other|Unknown|Not Applicable"),
    "statewide_surf_cond_desc": ("Dry|Wet|Snow|Slush|Ice|Mud|Dirt|Gravel|Sand|Oil|Water (Standing, Moving)|Other|"
                                 "Unknown"),
    "statewide_collision_type_desc": (
        "Same Dir Rear End|Straight Movement Angle|Single Vehicle|Same Direction Sideswipe|"
        "Opposite Direction Sideswipe|Head On|Head On Left Turn|Angle Meets Left Turn|Angle Meets Right Turn|"
        "Angle Meets Left Head On|Same Direction Left Turn|Same Direction Right Turn|Same Dir Rend Left Turn|"
        "Same Dir Rend Right Turn|Same Dir Both Left Turn|Opposite Dir Both Left Turn|Other|Unknown"),
    "statewide_junction_desc": ("Non Intersection|Intersection|Intersection Related|Driveway or Alley|"
                                "Interchange Related|Other|Unknown"),
    "statewide_signal_flag": "Y|N",
    "statewide_harm_event_desc1": "Other Vehicle|Pedestrian|Parked Vehicle|Fixed Object|Animal|Bicycle",
}

EXPECTED_STATES = [  # (mapping, raw, state or None for missing)
    ("montgomery_weather", "RAINING", "rain"), ("montgomery_weather", "Rain", "rain"),
    ("montgomery_weather", "WINTRY MIX", "snow"), ("montgomery_weather", "Smoke", "fog"),
    ("montgomery_weather", "N/A", None), ("montgomery_surface_condition", "Ice/Frost", "snow_ice"),
    ("montgomery_surface_condition", "MUD, DIRT, GRAVEL", None),
    ("montgomery_light", "Dark - Not Lighted", "dark_unlighted"), ("montgomery_light", "DARK LIGHTS ON", "dark_lighted"),
    ("montgomery_light", "DUSK", "dawn_dusk"), ("montgomery_light", "DARK -- UNKNOWN LIGHTING", None),
    ("montgomery_collision_type", "Front to Rear", "rear_end"), ("montgomery_collision_type", "HEAD ON", "head_on"),
    ("montgomery_collision_type", "HEAD ON LEFT TURN", "left_turn"),
    ("montgomery_collision_type", "Sideswipe, Opposite Direction", "sideswipe"),
    ("montgomery_traffic_control", "Traffic Control Signal", "signal"),
    ("montgomery_vehicle_movement", "STOPPED IN TRAFFIC LANE", "slowing_stopped"),
    ("montgomery_vehicle_movement", "Making U-Turn", "turning_left"),
    ("montgomery_driver_substance_abuse", "Suspect of Alcohol Use, Not Suspect of Drug Use", "substance"),
    ("montgomery_driver_distracted_by", "TEXTING FROM A CELLULAR PHONE", "distracted"),
    ("statewide_signal_flag", "Y", "signal"), ("statewide_harm_event_desc1", "Pedestrian", "pedestrian"),
    ("statewide_junction_desc", "Interchange Related", "ramp"),
]


def _variable_of(mapping: str) -> str:
    for schema in (MONTGOMERY, STATEWIDE, STATEWIDE_VEHICLES):
        for rule in schema.rules:
            if any(spec.mapping == mapping for spec in rule.columns):
                return rule.variable
    raise KeyError(mapping)


@pytest.mark.parametrize("mapping,values", sorted({**MONTGOMERY_VALUES, **STATEWIDE_VALUES}.items()))
def test_every_published_value_is_mapped(mapping, values):
    vocab = load_vocabulary(mapping, _variable_of(mapping))
    raw = values.split("|")
    unmapped = [r for r in raw if vocab.lookup(r) is None]
    assert not unmapped, f"{mapping} cannot map {unmapped}"


@pytest.mark.parametrize("mapping,raw,state", EXPECTED_STATES)
def test_spellings_map_to_the_documented_state(mapping, raw, state):
    var = _variable_of(mapping)
    code = load_vocabulary(mapping, var).lookup(raw)
    assert code is not None
    assert (STATES[var][code] if code >= 0 else None) == state


def test_matching_ignores_case_and_stray_spaces():
    vocab = load_vocabulary("montgomery_light", "light")
    assert vocab.lookup("  dark -  lighted ") == STATES["light"].index("dark_lighted")
    assert vocab.lookup("DAYLIGHT") == vocab.lookup("Daylight") == 0
    assert vocab.lookup("Not Applicable") == -1 and vocab.lookup("") == -1
    assert vocab.lookup("DAYLIHGT") is None


def test_every_mapping_file_is_used_and_valid():
    used = {spec.mapping for schema in (MONTGOMERY, STATEWIDE, STATEWIDE_VEHICLES) for rule in schema.rules
            for spec in rule.columns if spec.mapping}
    files = {p.stem for p in MAPPINGS_DIR.glob("*.csv")}
    assert files == used
    for name in used:
        vocab = load_vocabulary(name, _variable_of(name))  # raises on a state that does not exist
        assert any(code >= 0 for code in vocab.entries.values())
