from impreg.cli import main

raise SystemExit(main())
