"""The procedural world behind `reade.data.synthesize`: vocabularies, scene sampling, text and condition rendering."""
