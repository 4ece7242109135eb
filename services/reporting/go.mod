module github.com/ponte-network/ponte/services/reporting

go 1.26.0

replace (
	github.com/ponte-network/ponte/libs => ../../libs
	github.com/ponte-network/ponte/proto => ../../proto
)

require gonum.org/v1/gonum v0.17.0
