from sos_pipeline.cli import run

run()
