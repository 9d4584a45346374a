print("pgseal")
