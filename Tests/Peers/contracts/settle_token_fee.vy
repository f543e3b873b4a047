# pragma version ~=0.4.3
"""
@title Fee-on-transfer test ERC-20 for the Settle EVM devnet
@notice Written for Settle's tests (issue 13, "Token behaviours"): every `transfer` and `transferFrom`
        delivers `amount - fee` to the recipient and sends `fee` to `feeCollector`, where
        fee = floor(amount * feeBps / 10000). It logs Transfer(from, to, amount - fee) and then, when
        fee > 0, Transfer(from, feeCollector, fee), as real fee-on-transfer tokens do. The sender's
        balance and the spender's allowance go down by the full `amount`.
        Everything else is snekmate's `erc20` module: balances, allowances (transferFrom logs the reduced
        allowance as Approval first, except for an infinite allowance), `approve`, `mint` by the deployer.
        The owner (the deployer) can change the fee with `setFeeBps`.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    ownable.owner,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.approve,
    erc20.mint,
)

_BPS: constant(uint256) = 10_000

feeBps: public(uint256)
feeCollector: public(address)


@deploy
@payable
def __init__(
    name_: String[25],
    symbol_: String[5],
    decimals_: uint8,
    initial_holder_: address,
    initial_supply_: uint256,
    fee_bps_: uint256,
    fee_collector_: address,
):
    assert fee_bps_ <= _BPS, "fee above 100%"
    assert fee_collector_ != empty(address), "fee collector is the zero address"
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")
    self.feeBps = fee_bps_
    self.feeCollector = fee_collector_
    if initial_supply_ > 0:
        erc20._mint(initial_holder_, initial_supply_)


@external
def transfer(to: address, amount: uint256) -> bool:
    self._transfer_with_fee(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    erc20._spend_allowance(owner, msg.sender, amount)
    self._transfer_with_fee(owner, to, amount)
    return True


@external
def setFeeBps(fee_bps: uint256):
    ownable._check_owner()
    assert fee_bps <= _BPS, "fee above 100%"
    self.feeBps = fee_bps


@internal
@view
def _fee(amount: uint256) -> uint256:
    # floor(amount * bps / 10000) without overflowing for any uint256 amount
    bps: uint256 = self.feeBps
    return (amount // _BPS) * bps + (amount % _BPS) * bps // _BPS


@internal
def _transfer_with_fee(owner: address, to: address, amount: uint256):
    fee: uint256 = self._fee(amount)
    erc20._transfer(owner, to, amount - fee)
    if fee > 0:
        erc20._transfer(owner, self.feeCollector, fee)
