from distillery_cli.main import run

run()
