from distillery_cli.entry import run

run()
