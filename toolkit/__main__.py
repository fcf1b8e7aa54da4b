from toolkit.cli.main import program

program()
