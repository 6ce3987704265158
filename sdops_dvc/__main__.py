from sdops_dvc.cli.main import main

main()
