module example.com/selective-caching

go 1.22
